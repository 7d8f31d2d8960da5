package watchstate

import (
	"encoding/hex"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// Environment is the APNs environment a device token belongs to.
type Environment string

const (
	EnvironmentProduction  Environment = "production"
	EnvironmentDevelopment Environment = "development"
)

// Severity of an alert; the apns exporter maps it to an interruption level.
type Severity string

const (
	SeverityInfo     Severity = "info"
	SeverityWarning  Severity = "warning"
	SeverityCritical Severity = "critical"
)

// Rank orders severities (higher is worse); unknown values rank 0.
func (s Severity) Rank() int {
	switch s {
	case SeverityInfo:
		return 1
	case SeverityWarning:
		return 2
	case SeverityCritical:
		return 3
	}
	return 0
}

// AlertState is the lifecycle state of an alert.
type AlertState string

const (
	AlertFiring   AlertState = "firing"
	AlertResolved AlertState = "resolved"
)

// StatusState is the health of one series on the status board.
type StatusState string

const (
	StatusOK       StatusState = "ok"
	StatusWarning  StatusState = "warning"
	StatusCritical StatusState = "critical"
	StatusUnknown  StatusState = "unknown"
)

// Rank orders status states (higher is worse).
func (s StatusState) Rank() int {
	switch s {
	case StatusOK:
		return 1
	case StatusUnknown:
		return 2
	case StatusWarning:
		return 3
	case StatusCritical:
		return 4
	}
	return 0
}

// Device is one Apple Watch (or iPhone) registered to receive pushes.
type Device struct {
	// Token is the APNs device token, lower-case hex (64..200 hex digits).
	Token string `json:"token"`
	// Environment selects the APNs endpoint the token is valid for.
	Environment Environment `json:"environment"`
	// Topic is the app's bundle id (the apns-topic header).
	Topic string `json:"topic"`
	// User is who wears the device (free text, e.g. an e-mail or handle).
	User string `json:"user"`
	// Teams are the owner teams whose alerts this device receives; empty = all teams.
	Teams []string `json:"teams"`
	// Name is an optional human label ("Ana's Watch Ultra").
	Name string `json:"name,omitempty"`
	// RegisteredAt is when the token was first registered; re-registering keeps it.
	RegisteredAt time.Time `json:"registered_at"`
	// UpdatedAt is when the registration last changed.
	UpdatedAt time.Time `json:"updated_at"`
}

// Acknowledgement records that someone took an alert occurrence. It applies to
// the occurrence that started at AlertSince: if the alert resolves and fires
// again, the new occurrence is not acknowledged.
type Acknowledgement struct {
	AlertID    string    `json:"alert_id"`
	AlertSince time.Time `json:"alert_since"`
	By         string    `json:"by"`
	At         time.Time `json:"at"`
	Comment    string    `json:"comment,omitempty"`
}

// Alert is one alerting series, as produced by the apns exporter's policy.
type Alert struct {
	// ID is stable for a series across occurrences; Fingerprint(labels) is the convention.
	ID string `json:"id"`
	// GroupKey is the Alertmanager-style group the alert was notified in.
	GroupKey string `json:"group_key"`
	// Labels are the alert's identifying attributes (service, region, team, …).
	Labels map[string]string `json:"labels"`
	// Series is a human-readable series name (e.g. "checkout p99 eu-west-1").
	Series string     `json:"series"`
	State  AlertState `json:"state"`
	// Severity as decided by the policy (score band or attribute).
	Severity Severity `json:"severity"`
	// Value is the last observed latency in seconds; Expected what the model expected.
	Value    float64 `json:"value"`
	Expected float64 `json:"expected"`
	// Score is the anomaly score 0..1.
	Score float64 `json:"score"`
	// Since is when this occurrence started firing; Updated the last change.
	Since   time.Time `json:"since"`
	Updated time.Time `json:"updated"`
	// ResolvedAt is set when State is resolved.
	ResolvedAt *time.Time `json:"resolved_at,omitempty"`
	// Link is an optional URL to a dashboard or trace view.
	Link string `json:"link,omitempty"`
	// AcknowledgedBy/At are filled by the board from its acknowledgements.
	AcknowledgedBy string     `json:"acknowledged_by,omitempty"`
	AcknowledgedAt *time.Time `json:"acknowledged_at,omitempty"`
	// SilencedBy lists the ids of the active silences that match the alert's labels.
	SilencedBy []string `json:"silenced_by"`
}

// Team returns the alert's owner team label ("team", then "owner.team",
// then "service.owner"), or "".
func (a Alert) Team() string {
	for _, k := range []string{"team", "owner.team", "service.owner"} {
		if v := a.Labels[k]; v != "" {
			return v
		}
	}
	return ""
}

// StatusEntry is one line of the status board: the latest view of one series.
type StatusEntry struct {
	// Series identifies the entry (unique on the board).
	Series string `json:"series"`
	// Service is the service the series belongs to.
	Service string            `json:"service"`
	Labels  map[string]string `json:"labels"`
	// Value and Expected are latencies in seconds.
	Value    float64     `json:"value"`
	Expected float64     `json:"expected"`
	Score    float64     `json:"score"`
	State    StatusState `json:"state"`
	// Since is when State last changed; Updated when the entry was last written.
	Since   time.Time `json:"since"`
	Updated time.Time `json:"updated"`
}

// MatchOp is a silence matcher operator, with Alertmanager's meaning.
type MatchOp string

const (
	MatchEqual     MatchOp = "="
	MatchNotEqual  MatchOp = "!="
	MatchRegexp    MatchOp = "=~"
	MatchNotRegexp MatchOp = "!~"
)

// Matcher matches one label. Regular expressions are fully anchored.
type Matcher struct {
	Name  string  `json:"name"`
	Op    MatchOp `json:"op"`
	Value string  `json:"value"`

	re *regexp.Regexp
}

// Compile validates the matcher and prepares its regular expression.
func (m *Matcher) Compile() error {
	if m.Name == "" {
		return fmt.Errorf("matcher name is empty")
	}
	if len(m.Name) > maxLabelNameLen {
		return fmt.Errorf("matcher name is longer than %d bytes", maxLabelNameLen)
	}
	if hasControl(m.Name) || hasControl(m.Value) {
		return fmt.Errorf("matcher %q contains control characters", m.Name)
	}
	switch m.Op {
	case MatchEqual, MatchNotEqual:
		m.re = nil
	case MatchRegexp, MatchNotRegexp:
		re, err := regexp.Compile("^(?:" + m.Value + ")$")
		if err != nil {
			return fmt.Errorf("matcher %q: invalid regular expression: %v", m.Name, err)
		}
		m.re = re
	default:
		return fmt.Errorf("matcher %q: op %q is not one of =, !=, =~, !~", m.Name, m.Op)
	}
	return nil
}

// Matches reports whether the labels satisfy the matcher (a missing label is "").
// Compile must have succeeded.
func (m *Matcher) Matches(labels map[string]string) bool {
	v := labels[m.Name]
	switch m.Op {
	case MatchEqual:
		return v == m.Value
	case MatchNotEqual:
		return v != m.Value
	case MatchRegexp:
		return m.re != nil && m.re.MatchString(v)
	case MatchNotRegexp:
		return m.re != nil && !m.re.MatchString(v)
	}
	return false
}

// SilenceState is derived from the silence's time window.
type SilenceState string

const (
	SilencePending SilenceState = "pending"
	SilenceActive  SilenceState = "active"
	SilenceExpired SilenceState = "expired"
)

// Silence mutes notifications for alerts whose labels match all matchers
// while StartsAt <= now < EndsAt.
type Silence struct {
	ID        string    `json:"id"`
	Matchers  []Matcher `json:"matchers"`
	StartsAt  time.Time `json:"starts_at"`
	EndsAt    time.Time `json:"ends_at"`
	CreatedBy string    `json:"created_by"`
	Comment   string    `json:"comment"`
	CreatedAt time.Time `json:"created_at"`
	// State is computed when the silence is read.
	State SilenceState `json:"state"`
}

// StateAt returns the silence's state at t.
func (s *Silence) StateAt(t time.Time) SilenceState {
	switch {
	case t.Before(s.StartsAt):
		return SilencePending
	case t.Before(s.EndsAt):
		return SilenceActive
	}
	return SilenceExpired
}

// Matches reports whether every matcher matches the labels.
func (s *Silence) Matches(labels map[string]string) bool {
	for i := range s.Matchers {
		if !s.Matchers[i].Matches(labels) {
			return false
		}
	}
	return len(s.Matchers) > 0
}

// Fingerprint is the conventional alert id: a 16-hex-digit FNV-1a hash of the
// sorted label set, stable across restarts and processes.
func Fingerprint(labels map[string]string) string {
	var buf [16]string // label sets are small: keep the keys on the stack
	keys := buf[:0]
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	h := uint64(fnvOffset64)
	for _, k := range keys {
		h = fnv1a(h, k)
		h = (h ^ 0xff) * fnvPrime64
		h = fnv1a(h, labels[k])
		h = (h ^ 0xff) * fnvPrime64
	}
	return Hex64(h)
}

// FNV-1a 64 (hash/fnv), inlined so that hashing a string allocates nothing.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

func fnv1a(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime64
	}
	return h
}

// FNV64a is the 64-bit FNV-1a hash of s, equal to hash/fnv.New64a over s.
func FNV64a(s string) uint64 { return fnv1a(fnvOffset64, s) }

// Hex64 renders h as 16 lower-case hex digits, big-endian: what
// hex.EncodeToString gives for hash/fnv's Sum(nil).
func Hex64(h uint64) string {
	var b [16]byte
	const digits = "0123456789abcdef"
	for i := 15; i >= 0; i-- {
		b[i] = digits[h&0xf]
		h >>= 4
	}
	return string(b[:])
}

// Limits on what clients may send; they keep persisted state and payloads small.
const (
	MaxIDLen        = 128
	MaxTextLen      = 256
	MaxCommentLen   = 1024
	MaxLabels       = 64
	MaxTeams        = 32
	MaxMatchers     = MaxLabels
	MinTokenHexLen  = 64
	MaxTokenHexLen  = 200
	MaxLinkLen      = 2048
	MaxSilenceSpan  = 90 * 24 * time.Hour
	maxLabelNameLen = 128
)

// idChar reports the bytes an id may contain: A-Z a-z 0-9 . _ : -
// (a loop over this table replaces the regular expression ^[A-Za-z0-9._:\-]+$
// on the push path).
func idChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == ':' || c == '-'
}

func idChars(id string) bool {
	for i := 0; i < len(id); i++ {
		if !idChar(id[i]) {
			return false
		}
	}
	return len(id) > 0
}

// ValidationError names the offending field; the API turns it into a 400.
type ValidationError struct {
	Field   string
	Message string
}

func (e *ValidationError) Error() string { return e.Field + ": " + e.Message }

func invalid(field, format string, args ...any) error {
	return &ValidationError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// ValidateID checks an alert or silence id.
func ValidateID(field, id string) error {
	if id == "" {
		return invalid(field, "is required")
	}
	if len(id) > MaxIDLen || !idChars(id) {
		return invalid(field, "must be 1..%d characters of A-Z a-z 0-9 . _ : -", MaxIDLen)
	}
	return nil
}

func validateText(field, v string, required bool, max int) error {
	if required && strings.TrimSpace(v) == "" {
		return invalid(field, "is required")
	}
	if len(v) > max {
		return invalid(field, "is longer than %d bytes", max)
	}
	if hasControl(v) {
		return invalid(field, "contains control characters")
	}
	return nil
}

// hasControl reports a control character other than tab (U+0000..U+001F).
// In UTF-8 those are exactly the bytes below 0x20 (multi-byte sequences and
// invalid bytes are all >= 0x80), so no rune decoding is needed.
func hasControl(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 && c != '\t' {
			return true
		}
	}
	return false
}

func validateLabels(field string, labels map[string]string) error {
	if len(labels) > MaxLabels {
		return invalid(field, "has %d labels, at most %d are allowed", len(labels), MaxLabels)
	}
	for k, v := range labels {
		if k == "" || len(k) > maxLabelNameLen {
			return invalid(field, "label names must be 1..%d bytes", maxLabelNameLen)
		}
		// The field name ("labels.<name>") is built only for an error: this runs
		// for every label of every upsert on the push path.
		if len(v) > MaxTextLen || hasControl(v) {
			return validateText(field+"."+k, v, false, MaxTextLen)
		}
	}
	return nil
}

// validateNumbers checks value, expected and score (in that order) without
// building a map per call.
func validateNumbers(value, expected, score float64) error {
	if err := validateNumber("value", value); err != nil {
		return err
	}
	if err := validateNumber("expected", expected); err != nil {
		return err
	}
	return validateNumber("score", score)
}

func validateNumber(field string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return invalid(field, "must be a finite number")
	}
	return nil
}

// NormalizeToken lower-cases a hex APNs token and checks its shape.
func NormalizeToken(token string) (string, error) {
	t := strings.ToLower(strings.TrimSpace(token))
	if len(t) < MinTokenHexLen || len(t) > MaxTokenHexLen || len(t)%2 != 0 {
		return "", invalid("token", "must be an even number of hex digits, %d..%d long", MinTokenHexLen, MaxTokenHexLen)
	}
	if _, err := hex.DecodeString(t); err != nil {
		return "", invalid("token", "must be hexadecimal")
	}
	return t, nil
}

// Validate checks a device registration and normalises its token and teams.
func (d *Device) Validate() error {
	tok, err := NormalizeToken(d.Token)
	if err != nil {
		return err
	}
	d.Token = tok
	switch d.Environment {
	case EnvironmentProduction, EnvironmentDevelopment:
	default:
		return invalid("environment", "must be production or development, got %q", d.Environment)
	}
	if err := validateText("topic", d.Topic, true, MaxTextLen); err != nil {
		return err
	}
	if strings.ContainsAny(d.Topic, " /") {
		return invalid("topic", "must be a bundle id such as com.example.latencywatch.watchkitapp")
	}
	if err := validateText("user", d.User, true, MaxTextLen); err != nil {
		return err
	}
	if err := validateText("name", d.Name, false, MaxTextLen); err != nil {
		return err
	}
	if len(d.Teams) > MaxTeams {
		return invalid("teams", "has %d entries, at most %d are allowed", len(d.Teams), MaxTeams)
	}
	teams := make([]string, 0, len(d.Teams))
	for _, t := range d.Teams {
		if err := validateText("teams", t, true, MaxTextLen); err != nil {
			return err
		}
		teams = append(teams, t)
	}
	sort.Strings(teams)
	d.Teams = slices.Compact(teams)
	return nil
}

// Validate checks an alert coming from a producer.
func (a *Alert) Validate() error {
	if err := ValidateID("id", a.ID); err != nil {
		return err
	}
	if err := validateText("group_key", a.GroupKey, false, MaxCommentLen); err != nil {
		return err
	}
	if err := validateLabels("labels", a.Labels); err != nil {
		return err
	}
	if err := validateText("series", a.Series, true, MaxTextLen); err != nil {
		return err
	}
	switch a.State {
	case AlertFiring, AlertResolved:
	default:
		return invalid("state", "must be firing or resolved, got %q", a.State)
	}
	if a.Severity.Rank() == 0 {
		return invalid("severity", "must be info, warning or critical, got %q", a.Severity)
	}
	if err := validateNumbers(a.Value, a.Expected, a.Score); err != nil {
		return err
	}
	if a.Score < 0 || a.Score > 1 {
		return invalid("score", "must be within 0..1")
	}
	if a.Since.IsZero() {
		return invalid("since", "is required")
	}
	return validateText("link", a.Link, false, MaxLinkLen)
}

// Validate checks a status entry coming from a producer.
func (s *StatusEntry) Validate() error {
	if err := validateText("series", s.Series, true, MaxTextLen); err != nil {
		return err
	}
	if err := validateText("service", s.Service, true, MaxTextLen); err != nil {
		return err
	}
	if err := validateLabels("labels", s.Labels); err != nil {
		return err
	}
	if s.State.Rank() == 0 {
		return invalid("state", "must be ok, warning, critical or unknown, got %q", s.State)
	}
	if err := validateNumbers(s.Value, s.Expected, s.Score); err != nil {
		return err
	}
	if s.Score < 0 || s.Score > 1 {
		return invalid("score", "must be within 0..1")
	}
	return nil
}

// Validate checks a silence (its matchers are compiled) and its time window.
func (s *Silence) Validate() error {
	if len(s.Matchers) == 0 {
		return invalid("matchers", "at least one matcher is required")
	}
	if len(s.Matchers) > MaxMatchers {
		return invalid("matchers", "has %d entries, at most %d are allowed", len(s.Matchers), MaxMatchers)
	}
	for i := range s.Matchers {
		if err := s.Matchers[i].Compile(); err != nil {
			return invalid(fmt.Sprintf("matchers[%d]", i), "%v", err)
		}
		if len(s.Matchers[i].Value) > MaxTextLen {
			return invalid(fmt.Sprintf("matchers[%d].value", i), "is longer than %d bytes", MaxTextLen)
		}
	}
	if !s.EndsAt.After(s.StartsAt) {
		return invalid("ends_at", "must be after starts_at")
	}
	if s.EndsAt.Sub(s.StartsAt) > MaxSilenceSpan {
		return invalid("ends_at", "a silence may last at most %s", MaxSilenceSpan)
	}
	if err := validateText("created_by", s.CreatedBy, true, MaxTextLen); err != nil {
		return err
	}
	return validateText("comment", s.Comment, false, MaxCommentLen)
}
