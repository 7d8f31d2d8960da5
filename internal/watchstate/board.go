package watchstate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/extension/xextension/storage"
)

// Errors the Board returns besides *ValidationError.
var (
	// ErrNotFound: no device, alert or silence with that id.
	ErrNotFound = errors.New("not found")
	// ErrLimit: a configured capacity (devices, silences, alerts, status entries) is reached.
	ErrLimit = errors.New("limit reached")
	// ErrConflict: the request contradicts the current state (e.g. acknowledging a resolved alert).
	ErrConflict = errors.New("conflict")
)

// Storage keys. One key per collection: writes are rare (a registration, a
// silence, an acknowledgement) and collections are capped, so rewriting a
// collection is cheap and keeps every write atomic without a Walk API.
const (
	keyDevices  = "watchstate.devices.v1"
	keySilences = "watchstate.silences.v1"
	keyAcks     = "watchstate.acks.v1"
)

// Options bound the board. Zero values take the defaults below.
type Options struct {
	MaxDevices       int // default 10000
	MaxSilences      int // default 1000
	MaxAlerts        int // default 10000
	MaxStatusEntries int // default 10000
	// ResolvedRetention: resolved alerts stay visible this long (default 24h).
	ResolvedRetention time.Duration
	// ExpiredRetention: expired silences and acknowledgements of alerts no longer
	// on the board are kept this long (default 7 days).
	ExpiredRetention time.Duration
	// Now is the clock (tests inject a fake one).
	Now func() time.Time
	// NewID generates silence ids (default: 32 random hex digits).
	NewID func() (string, error)
}

func (o *Options) defaults() {
	if o.MaxDevices <= 0 {
		o.MaxDevices = 10000
	}
	if o.MaxSilences <= 0 {
		o.MaxSilences = 1000
	}
	if o.MaxAlerts <= 0 {
		o.MaxAlerts = 10000
	}
	if o.MaxStatusEntries <= 0 {
		o.MaxStatusEntries = 10000
	}
	if o.ResolvedRetention <= 0 {
		o.ResolvedRetention = 24 * time.Hour
	}
	if o.ExpiredRetention <= 0 {
		o.ExpiredRetention = 7 * 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewID == nil {
		o.NewID = newID
	}
}

// EventKind says what happened to the alert in an Event.
type EventKind string

const (
	EventAlertUpdated EventKind = "alert.updated"
	EventAlertRemoved EventKind = "alert.removed"
)

// Event is one alert change, delivered to subscribers (the API's SSE stream).
type Event struct {
	Kind  EventKind `json:"kind"`
	Alert Alert     `json:"alert"`
	At    time.Time `json:"at"`
}

// Board is the in-memory AlertBoard with persistence of devices, silences and
// acknowledgements. All methods are safe for concurrent use.
type Board struct {
	opts Options

	// mu protects every field below, and is held across storage writes so that
	// the persisted snapshot order equals the order of changes.
	mu       sync.Mutex
	store    storage.Client // nil: in memory only
	devices  map[string]Device
	silences map[string]Silence
	acks     map[string]Acknowledgement
	alerts   map[string]Alert
	status   map[string]StatusEntry
	subs     map[*subscriber]struct{}
}

type subscriber struct {
	ch chan Event
}

// NewBoard returns an empty board kept in memory only until Load attaches storage.
func NewBoard(opts Options) *Board {
	opts.defaults()
	return &Board{
		opts:     opts,
		devices:  map[string]Device{},
		silences: map[string]Silence{},
		acks:     map[string]Acknowledgement{},
		alerts:   map[string]Alert{},
		status:   map[string]StatusEntry{},
		subs:     map[*subscriber]struct{}{},
	}
}

// Load attaches a storage client and restores devices, silences and
// acknowledgements from it. Later changes are written through to it.
func (b *Board) Load(ctx context.Context, client storage.Client) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	devices := map[string]Device{}
	silences := map[string]Silence{}
	acks := map[string]Acknowledgement{}
	if err := loadKey(ctx, client, keyDevices, &devices); err != nil {
		return err
	}
	if err := loadKey(ctx, client, keySilences, &silences); err != nil {
		return err
	}
	for id, s := range silences {
		if err := s.Validate(); err != nil {
			return fmt.Errorf("stored silence %s is invalid: %w", id, err)
		}
		silences[id] = s
	}
	if err := loadKey(ctx, client, keyAcks, &acks); err != nil {
		return err
	}
	b.store, b.devices, b.silences, b.acks = client, devices, silences, acks
	return nil
}

func loadKey(ctx context.Context, client storage.Client, key string, into any) error {
	data, err := client.Get(ctx, key)
	if err != nil {
		return fmt.Errorf("reading %s from storage: %w", key, err)
	}
	if data == nil {
		return nil
	}
	if err := json.Unmarshal(data, into); err != nil {
		return fmt.Errorf("decoding %s from storage: %w", key, err)
	}
	return nil
}

// persist writes one collection; callers hold b.mu and commit the new map only
// when persist succeeded, so memory never runs ahead of storage.
func (b *Board) persist(ctx context.Context, key string, v any) error {
	if b.store == nil {
		return nil
	}
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s: %w", key, err)
	}
	if err := b.store.Set(ctx, key, data); err != nil {
		return fmt.Errorf("writing %s to storage: %w", key, err)
	}
	return nil
}

// ---- devices ----

// RegisterDevice adds or updates a device (keyed by token). created reports
// whether the token was new. RegisteredAt is kept across re-registrations.
func (b *Board) RegisterDevice(ctx context.Context, d Device) (Device, bool, error) {
	if err := d.Validate(); err != nil {
		return Device{}, false, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.opts.Now().UTC()
	old, exists := b.devices[d.Token]
	if !exists && len(b.devices) >= b.opts.MaxDevices {
		return Device{}, false, fmt.Errorf("%w: %d devices registered", ErrLimit, len(b.devices))
	}
	d.RegisteredAt, d.UpdatedAt = now, now
	if exists {
		d.RegisteredAt = old.RegisteredAt
	}
	next := maps.Clone(b.devices)
	next[d.Token] = d
	if err := b.persist(ctx, keyDevices, next); err != nil {
		return Device{}, false, err
	}
	b.devices = next
	return d, !exists, nil
}

// UnregisterDevice removes a device; ErrNotFound if the token is unknown.
func (b *Board) UnregisterDevice(ctx context.Context, token string) error {
	tok, err := NormalizeToken(token)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, ok := b.devices[tok]; !ok {
		return ErrNotFound
	}
	next := maps.Clone(b.devices)
	delete(next, tok)
	if err := b.persist(ctx, keyDevices, next); err != nil {
		return err
	}
	b.devices = next
	return nil
}

// ForgetDevice removes a token APNs rejected (410 Unregistered, BadDeviceToken,
// DeviceTokenNotForTopic). Unknown tokens are not an error.
func (b *Board) ForgetDevice(ctx context.Context, token string) error {
	err := b.UnregisterDevice(ctx, token)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// Devices returns the devices subscribed to any of the teams, sorted by token.
// A device with no teams receives every team's alerts; with no teams given,
// every device is returned.
func (b *Board) Devices(teams ...string) []Device {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := []Device{}
	for _, d := range b.devices {
		if len(teams) == 0 || len(d.Teams) == 0 || slices.ContainsFunc(teams, func(t string) bool { return slices.Contains(d.Teams, t) }) {
			d.Teams = slices.Clone(d.Teams)
			out = append(out, d)
		}
	}
	slices.SortFunc(out, func(x, y Device) int { return strings.Compare(x.Token, y.Token) })
	return out
}

// ---- alerts ----

// UpsertAlert stores the producer's view of an alert. A firing alert whose Since
// differs from the stored one is a new occurrence: its acknowledgement no longer
// applies. Returns the alert as clients see it. The board keeps its own copy
// of a.Labels; the result's Labels may be a.Labels itself, never the board's.
func (b *Board) UpsertAlert(ctx context.Context, a Alert) (Alert, error) {
	if err := a.Validate(); err != nil {
		return Alert{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.opts.Now().UTC()
	if _, exists := b.alerts[a.ID]; !exists && len(b.alerts) >= b.opts.MaxAlerts {
		return Alert{}, fmt.Errorf("%w: %d alerts on the board", ErrLimit, len(b.alerts))
	}
	given := a.Labels
	a.Labels = maps.Clone(a.Labels)
	if a.Labels == nil {
		a.Labels = map[string]string{}
	}
	a.Since = a.Since.UTC()
	a.Updated = now
	a.AcknowledgedBy, a.AcknowledgedAt, a.SilencedBy = "", nil, nil
	if a.State == AlertResolved {
		if a.ResolvedAt == nil {
			at := now // only a resolved alert pays for the pointer
			a.ResolvedAt = &at
		}
	} else {
		a.ResolvedAt = nil
	}
	b.alerts[a.ID] = a
	var v Alert
	if len(b.subs) == 0 && given != nil {
		// Only the caller sees this view: it gets back the labels map it
		// passed in instead of a second copy of the stored one (this runs for
		// every new incident on the push path). With subscribers, the event
		// carries a copy no caller can change.
		v = a
		v.Labels = given
		v = b.viewOwnedLocked(v, now)
	} else {
		v = b.viewLocked(a, now)
	}
	b.publishLocked(Event{Kind: EventAlertUpdated, Alert: v, At: now})
	return v, nil
}

// RemoveAlert drops an alert from the board (its producer forgot it).
func (b *Board) RemoveAlert(_ context.Context, id string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, ok := b.alerts[id]
	if !ok {
		return ErrNotFound
	}
	delete(b.alerts, id)
	now := b.opts.Now().UTC()
	b.publishLocked(Event{Kind: EventAlertRemoved, Alert: b.viewLocked(a, now), At: now})
	return nil
}

// GetAlert returns one alert as clients see it.
func (b *Board) GetAlert(id string) (Alert, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, ok := b.alerts[id]
	if !ok {
		return Alert{}, ErrNotFound
	}
	return b.viewLocked(a, b.opts.Now().UTC()), nil
}

// AlertFilter selects alerts; zero fields match everything.
type AlertFilter struct {
	State        AlertState
	Severity     Severity
	Team         string
	Service      string
	Acknowledged *bool
	Silenced     *bool
	Limit        int
}

// ListAlerts returns matching alerts, firing first, then worst severity, then newest.
func (b *Board) ListAlerts(f AlertFilter) []Alert {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.opts.Now().UTC()
	active := b.activeSilencesLocked(now)
	out := make([]Alert, 0, len(b.alerts))
	for _, a := range b.alerts {
		v := b.viewWithLocked(a, active)
		switch {
		case f.State != "" && v.State != f.State,
			f.Severity != "" && v.Severity != f.Severity,
			f.Team != "" && v.Team() != f.Team,
			f.Service != "" && v.Labels["service.name"] != f.Service && v.Labels["service"] != f.Service,
			f.Acknowledged != nil && (v.AcknowledgedAt != nil) != *f.Acknowledged,
			f.Silenced != nil && (len(v.SilencedBy) > 0) != *f.Silenced:
			continue
		}
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool {
		x, y := out[i], out[j]
		if (x.State == AlertFiring) != (y.State == AlertFiring) {
			return x.State == AlertFiring
		}
		if x.Severity.Rank() != y.Severity.Rank() {
			return x.Severity.Rank() > y.Severity.Rank()
		}
		if !x.Since.Equal(y.Since) {
			return x.Since.After(y.Since)
		}
		return x.ID < y.ID
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out
}

// viewLocked fills the acknowledgement and silence fields of a stored alert.
func (b *Board) viewLocked(a Alert, now time.Time) Alert {
	a.Labels = maps.Clone(a.Labels)
	return b.viewOwnedLocked(a, now)
}

// viewOwnedLocked is viewLocked for an alert whose Labels map is not the
// stored one (the view may keep it).
func (b *Board) viewOwnedLocked(a Alert, now time.Time) Alert {
	a = b.decorateLocked(a, nil)
	for id, s := range b.silences {
		if s.StateAt(now) == SilenceActive && s.Matches(a.Labels) {
			a.SilencedBy = append(a.SilencedBy, id)
		}
	}
	sort.Strings(a.SilencedBy)
	return a
}

// viewWithLocked is viewLocked with the active silences computed once by the
// caller (ListAlerts views every alert against the same set).
func (b *Board) viewWithLocked(a Alert, active []Silence) Alert {
	a.Labels = maps.Clone(a.Labels)
	return b.decorateLocked(a, active)
}

// decorateLocked sets the acknowledgement and the given silences on a view.
func (b *Board) decorateLocked(a Alert, active []Silence) Alert {
	a.AcknowledgedBy, a.AcknowledgedAt = "", nil
	if ack, ok := b.acks[a.ID]; ok && ack.AlertSince.Equal(a.Since) {
		at := ack.At
		a.AcknowledgedBy, a.AcknowledgedAt = ack.By, &at
	}
	a.SilencedBy = silencing(a.Labels, active)
	return a
}

// activeSilencesLocked returns the silences active at now, sorted by id.
func (b *Board) activeSilencesLocked(now time.Time) []Silence {
	active := make([]Silence, 0, len(b.silences))
	for _, s := range b.silences {
		if s.StateAt(now) == SilenceActive {
			active = append(active, s)
		}
	}
	if len(active) > 1 { // sort.Slice allocates even for nothing to sort
		s := active
		sort.Slice(s, func(i, j int) bool { return s[i].ID < s[j].ID })
	}
	return active
}

// silencing returns the ids of the silences (sorted by id) that match labels.
func silencing(labels map[string]string, active []Silence) []string {
	ids := []string{}
	for i := range active {
		if active[i].Matches(labels) {
			ids = append(ids, active[i].ID)
		}
	}
	return ids
}

// ---- acknowledgements ----

// Acknowledge records that by took the alert's current occurrence. Resolved
// alerts cannot be acknowledged (ErrConflict). Acknowledging again replaces
// the acknowledgement.
func (b *Board) Acknowledge(ctx context.Context, alertID, by, comment string) (Alert, error) {
	if err := validateText("by", by, true, MaxTextLen); err != nil {
		return Alert{}, err
	}
	if err := validateText("comment", comment, false, MaxCommentLen); err != nil {
		return Alert{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	a, ok := b.alerts[alertID]
	if !ok {
		return Alert{}, ErrNotFound
	}
	if a.State != AlertFiring {
		return Alert{}, fmt.Errorf("%w: alert %s is %s", ErrConflict, alertID, a.State)
	}
	now := b.opts.Now().UTC()
	next := maps.Clone(b.acks)
	next[alertID] = Acknowledgement{AlertID: alertID, AlertSince: a.Since, By: by, At: now, Comment: comment}
	if err := b.persist(ctx, keyAcks, next); err != nil {
		return Alert{}, err
	}
	b.acks = next
	v := b.viewLocked(a, now)
	b.publishLocked(Event{Kind: EventAlertUpdated, Alert: v, At: now})
	return v, nil
}

// Unacknowledge removes the alert's acknowledgement (no error if there was none).
func (b *Board) Unacknowledge(ctx context.Context, alertID string) (Alert, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, ok := b.alerts[alertID]
	if !ok {
		return Alert{}, ErrNotFound
	}
	now := b.opts.Now().UTC()
	if _, acked := b.acks[alertID]; acked {
		next := maps.Clone(b.acks)
		delete(next, alertID)
		if err := b.persist(ctx, keyAcks, next); err != nil {
			return Alert{}, err
		}
		b.acks = next
	}
	v := b.viewLocked(a, now)
	b.publishLocked(Event{Kind: EventAlertUpdated, Alert: v, At: now})
	return v, nil
}

// Acknowledged returns the acknowledgement of the alert's current occurrence.
func (b *Board) Acknowledged(alertID string) (Acknowledgement, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, ok := b.alerts[alertID]
	if !ok {
		return Acknowledgement{}, false
	}
	ack, ok := b.acks[alertID]
	if !ok || !ack.AlertSince.Equal(a.Since) {
		return Acknowledgement{}, false
	}
	return ack, true
}

// ---- silences ----

// CreateSilence validates and stores a silence; a zero StartsAt means now.
// The id is generated.
func (b *Board) CreateSilence(ctx context.Context, s Silence) (Silence, error) {
	now := b.opts.Now().UTC()
	if s.StartsAt.IsZero() {
		s.StartsAt = now
	}
	s.StartsAt, s.EndsAt = s.StartsAt.UTC(), s.EndsAt.UTC()
	if err := s.Validate(); err != nil {
		return Silence{}, err
	}
	if !s.EndsAt.After(now) {
		return Silence{}, invalid("ends_at", "is in the past")
	}
	id, err := b.opts.NewID()
	if err != nil {
		return Silence{}, err
	}
	s.ID, s.CreatedAt = id, now
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.silences) >= b.opts.MaxSilences {
		return Silence{}, fmt.Errorf("%w: %d silences stored", ErrLimit, len(b.silences))
	}
	next := maps.Clone(b.silences)
	next[id] = s
	if err := b.persist(ctx, keySilences, next); err != nil {
		return Silence{}, err
	}
	b.silences = next
	b.publishSilencedLocked(s.Matches, now)
	s.State = s.StateAt(now)
	return s, nil
}

// ExpireSilence ends a silence now (a pending one is ended before it starts).
func (b *Board) ExpireSilence(ctx context.Context, id string) (Silence, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.silences[id]
	if !ok {
		return Silence{}, ErrNotFound
	}
	now := b.opts.Now().UTC()
	if s.StateAt(now) == SilenceExpired {
		s.State = SilenceExpired
		return s, nil
	}
	if s.StartsAt.After(now) {
		s.StartsAt = now
	}
	s.EndsAt = now
	next := maps.Clone(b.silences)
	next[id] = s
	if err := b.persist(ctx, keySilences, next); err != nil {
		return Silence{}, err
	}
	b.silences = next
	b.publishSilencedLocked(s.Matches, now)
	s.State = SilenceExpired
	return s, nil
}

// GetSilence returns one silence with its current state.
func (b *Board) GetSilence(id string) (Silence, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.silences[id]
	if !ok {
		return Silence{}, ErrNotFound
	}
	s.State = s.StateAt(b.opts.Now())
	return s, nil
}

// ListSilences returns silences in the given state ("" = all), newest first.
func (b *Board) ListSilences(state SilenceState) []Silence {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.opts.Now()
	out := []Silence{}
	for _, s := range b.silences {
		s.State = s.StateAt(now)
		if state == "" || s.State == state {
			s.Matchers = slices.Clone(s.Matchers)
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.After(out[j].CreatedAt)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// ActiveSilences returns the silences muting an alert with these labels now.
func (b *Board) ActiveSilences(labels map[string]string) []Silence {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.opts.Now()
	out := []Silence{}
	for _, s := range b.activeSilencesLocked(now) {
		if s.Matches(labels) {
			s.State = SilenceActive
			out = append(out, s)
		}
	}
	return out
}

// publishSilencedLocked announces alerts whose silenced state a silence change touched.
func (b *Board) publishSilencedLocked(matches func(map[string]string) bool, now time.Time) {
	for _, a := range b.alerts {
		if matches(a.Labels) {
			b.publishLocked(Event{Kind: EventAlertUpdated, Alert: b.viewLocked(a, now), At: now})
		}
	}
}

func newID() (string, error) {
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", fmt.Errorf("generating id: %w", err)
	}
	return hex.EncodeToString(raw[:]), nil
}

// ---- status board ----

// UpsertStatus stores the latest view of one series. Since is kept while the
// state does not change; a zero Since on a new entry means now. The board
// keeps its own copy of s.Labels; the result's Labels is s.Labels itself.
func (b *Board) UpsertStatus(_ context.Context, s StatusEntry) (StatusEntry, error) {
	if err := s.Validate(); err != nil {
		return StatusEntry{}, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.opts.Now().UTC()
	old, exists := b.status[s.Series]
	if !exists && len(b.status) >= b.opts.MaxStatusEntries {
		return StatusEntry{}, fmt.Errorf("%w: %d status entries", ErrLimit, len(b.status))
	}
	given := s.Labels
	s.Labels = maps.Clone(s.Labels)
	if s.Labels == nil {
		s.Labels = map[string]string{}
	}
	switch {
	case exists && old.State == s.State:
		s.Since = old.Since
	case s.Since.IsZero():
		s.Since = now
	}
	s.Since = s.Since.UTC()
	s.Updated = now
	b.status[s.Series] = s
	// The caller gets back the labels map it passed in, never the stored one.
	if given != nil {
		s.Labels = given
	} else {
		s.Labels = map[string]string{}
	}
	return s, nil
}

// Status returns the board worst-first, then by service and series.
func (b *Board) Status() []StatusEntry {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]StatusEntry, 0, len(b.status))
	for _, s := range b.status {
		s.Labels = maps.Clone(s.Labels)
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool {
		x, y := out[i], out[j]
		if x.State.Rank() != y.State.Rank() {
			return x.State.Rank() > y.State.Rank()
		}
		if x.Service != y.Service {
			return x.Service < y.Service
		}
		return x.Series < y.Series
	})
	return out
}

// ---- housekeeping ----

// Counts is a snapshot of the board's sizes (for health and telemetry).
type Counts struct {
	Devices        int `json:"devices"`
	Alerts         int `json:"alerts"`
	FiringAlerts   int `json:"firing_alerts"`
	ActiveSilences int `json:"active_silences"`
	StatusEntries  int `json:"status_entries"`
	Subscribers    int `json:"subscribers"`
}

// Counts returns the current sizes.
func (b *Board) Counts() Counts {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.opts.Now()
	c := Counts{Devices: len(b.devices), Alerts: len(b.alerts), StatusEntries: len(b.status), Subscribers: len(b.subs)}
	for _, a := range b.alerts {
		if a.State == AlertFiring {
			c.FiringAlerts++
		}
	}
	for _, s := range b.silences {
		if s.StateAt(now) == SilenceActive {
			c.ActiveSilences++
		}
	}
	return c
}

// Sweep drops resolved alerts past ResolvedRetention, and expired silences and
// orphaned acknowledgements past ExpiredRetention. Call it periodically.
func (b *Board) Sweep(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.opts.Now().UTC()
	for id, a := range b.alerts {
		if a.State == AlertResolved && a.ResolvedAt != nil && now.Sub(*a.ResolvedAt) > b.opts.ResolvedRetention {
			delete(b.alerts, id)
			b.publishLocked(Event{Kind: EventAlertRemoved, Alert: b.viewLocked(a, now), At: now})
		}
	}
	var errs []error
	silences := maps.Clone(b.silences)
	maps.DeleteFunc(silences, func(_ string, s Silence) bool {
		return s.StateAt(now) == SilenceExpired && now.Sub(s.EndsAt) > b.opts.ExpiredRetention
	})
	if len(silences) != len(b.silences) {
		if err := b.persist(ctx, keySilences, silences); err != nil {
			errs = append(errs, err)
		} else {
			b.silences = silences
		}
	}
	acks := maps.Clone(b.acks)
	maps.DeleteFunc(acks, func(id string, ack Acknowledgement) bool {
		a, onBoard := b.alerts[id]
		current := onBoard && ack.AlertSince.Equal(a.Since)
		return !current && now.Sub(ack.At) > b.opts.ExpiredRetention
	})
	if len(acks) != len(b.acks) {
		if err := b.persist(ctx, keyAcks, acks); err != nil {
			errs = append(errs, err)
		} else {
			b.acks = acks
		}
	}
	return errors.Join(errs...)
}

// ---- events ----

// Subscribe returns a channel of alert changes. A subscriber that falls more
// than buffer events behind is dropped: its channel is closed so that it can
// reconnect and re-read the board instead of silently missing changes.
// cancel is idempotent.
func (b *Board) Subscribe(buffer int) (events <-chan Event, cancel func()) {
	if buffer <= 0 {
		buffer = 64
	}
	s := &subscriber{ch: make(chan Event, buffer)}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s.ch, func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		if _, ok := b.subs[s]; ok {
			delete(b.subs, s)
			close(s.ch)
		}
	}
}

func (b *Board) publishLocked(e Event) {
	for s := range b.subs {
		select {
		case s.ch <- e:
		default:
			delete(b.subs, s)
			close(s.ch)
		}
	}
}

// CloseSubscribers ends every subscription (on shutdown).
func (b *Board) CloseSubscribers() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		delete(b.subs, s)
		close(s.ch)
	}
}
