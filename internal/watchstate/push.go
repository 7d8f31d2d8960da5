package watchstate

import (
	"bytes"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The notification category and actions the watch app registers; the apns
// exporter sets Category, the app sends the action back through the API.
const (
	CategoryAlert     = "LW_ALERT"
	ActionAcknowledge = "LW_ACK"
	ActionSilence1h   = "LW_SILENCE_1H"
	// MaxPushPayload is APNs' limit for a regular push (bytes).
	MaxPushPayload = 4096
)

// Interruption levels (the aps "interruption-level" values).
const (
	InterruptionPassive       = "passive"
	InterruptionActive        = "active"
	InterruptionTimeSensitive = "time-sensitive"
	InterruptionCritical      = "critical"
)

// InterruptionLevel maps severity to an interruption level. "critical" is
// used only when allowCritical (it needs Apple's critical-alerts entitlement);
// otherwise critical alerts are time-sensitive.
func InterruptionLevel(s Severity, allowCritical bool) string {
	switch s {
	case SeverityCritical:
		if allowCritical {
			return InterruptionCritical
		}
		return InterruptionTimeSensitive
	case SeverityWarning:
		return InterruptionActive
	}
	return InterruptionPassive
}

// PushPayload is the APNs JSON body the watch app decodes: Apple's "aps"
// dictionary plus LatencyWatch's custom data under "lw".
type PushPayload struct {
	APS APS       `json:"aps"`
	LW  PushAlert `json:"lw"`
}

// APS is the subset of Apple's aps dictionary LatencyWatch sends.
type APS struct {
	Alert             APSAlert `json:"alert"`
	Sound             any      `json:"sound,omitempty"` // "default" or CriticalSound
	InterruptionLevel string   `json:"interruption-level"`
	RelevanceScore    float64  `json:"relevance-score"`
	Category          string   `json:"category"`
	ThreadID          string   `json:"thread-id"`
}

// APSAlert is the visible text.
type APSAlert struct {
	Title    string `json:"title"`
	Subtitle string `json:"subtitle,omitempty"`
	Body     string `json:"body"`
}

// CriticalSound is the sound dictionary for critical alerts.
type CriticalSound struct {
	Critical int     `json:"critical"`
	Name     string  `json:"name"`
	Volume   float64 `json:"volume"`
}

// PushAlert is the custom data: enough for the watch to show the alert and to
// acknowledge it through the API without another fetch.
type PushAlert struct {
	AlertID  string     `json:"alert_id"`
	GroupKey string     `json:"group_key"`
	Series   string     `json:"series"`
	State    AlertState `json:"state"`
	Severity Severity   `json:"severity"`
	Value    float64    `json:"value"`
	Expected float64    `json:"expected"`
	Score    float64    `json:"score"`
	Region   string     `json:"region,omitempty"`
	Team     string     `json:"team,omitempty"`
	Since    time.Time  `json:"since"`
	Link     string     `json:"link,omitempty"`
}

// NewPushPayload builds the standard payload for an alert.
func NewPushPayload(a Alert, allowCritical bool) PushPayload {
	level := InterruptionLevel(a.Severity, allowCritical)
	var sound any = "default"
	if level == InterruptionCritical {
		sound = CriticalSound{Critical: 1, Name: "default", Volume: 1}
	}
	if level == InterruptionPassive || a.State == AlertResolved {
		sound = nil
	}
	title := pushTitle(a.Severity, a.State)
	if a.State == AlertResolved {
		title = "Resolved"
	}
	region := a.Labels["cloud.region"]
	if region == "" {
		region = a.Labels["region"]
	}
	body := pushBody(a.Series, a.Value, a.Expected, a.Score)
	return PushPayload{
		APS: APS{
			Alert:             APSAlert{Title: title, Subtitle: region, Body: body},
			Sound:             sound,
			InterruptionLevel: level,
			RelevanceScore:    clamp01(a.Score),
			Category:          CategoryAlert,
			ThreadID:          a.GroupKey,
		},
		LW: PushAlert{
			AlertID: a.ID, GroupKey: a.GroupKey, Series: a.Series, State: a.State, Severity: a.Severity,
			Value: a.Value, Expected: a.Expected, Score: a.Score, Region: region, Team: a.Team(),
			Since: a.Since.UTC(), Link: a.Link,
		},
	}
}

// Encode marshals the payload within max bytes (MaxPushPayload if max <= 0),
// dropping optional fields in this order: link, subtitle, then shortening the
// body and series. It fails rather than return an invalid or oversize payload.
func (p PushPayload) Encode(max int) ([]byte, error) {
	if max <= 0 {
		max = MaxPushPayload
	}
	for i := 0; ; i++ {
		data, err := marshalPush(&p)
		if err != nil {
			return nil, fmt.Errorf("encoding push payload: %w", err)
		}
		if len(data) <= max {
			return data, nil
		}
		for i < trimSteps && !trimStep(i, &p) {
			i++
		}
		if i >= trimSteps {
			return nil, fmt.Errorf("push payload for alert %s is %d bytes after trimming, the limit is %d", p.LW.AlertID, len(data), max)
		}
	}
}

// trimSteps is the number of Encode's trimming steps.
const trimSteps = 5

// trimStep applies Encode's trimming step i and reports whether it changed
// anything. (A switch rather than a table of funcs: calling through a func
// value would move the payload to the heap.)
func trimStep(i int, p *PushPayload) bool {
	switch i {
	case 0:
		changed := p.LW.Link != ""
		p.LW.Link = ""
		return changed
	case 1:
		changed := p.APS.Alert.Subtitle != ""
		p.APS.Alert.Subtitle = ""
		return changed
	case 2:
		return shorten(&p.APS.Alert.Body, 120)
	case 3:
		series := shorten(&p.LW.Series, 80)
		body := shorten(&p.APS.Alert.Body, 40)
		return series || body
	case 4:
		group := shorten(&p.LW.GroupKey, 200)
		thread := shorten(&p.APS.ThreadID, 200)
		return group || thread
	}
	return false
}

func shorten(s *string, n int) bool {
	if utf8.RuneCountInString(*s) <= n {
		return false
	}
	r := []rune(*s)
	*s = string(r[:n-1]) + "…"
	return true
}

func clamp01(v float64) float64 {
	switch {
	case v < 0:
		return 0
	case v > 1:
		return 1
	}
	return v
}

// pushTitle is "<SEVERITY> latency <state>"; the usual ones are constants.
func pushTitle(sev Severity, state AlertState) string {
	if state == AlertFiring {
		switch sev {
		case SeverityCritical:
			return "CRITICAL latency firing"
		case SeverityWarning:
			return "WARNING latency firing"
		case SeverityInfo:
			return "INFO latency firing"
		}
	}
	return strings.ToUpper(string(sev)) + " latency " + string(state)
}

// pushBody is "<series>: <value> (expected <expected>, score <score %.2f>)",
// built in one allocation (it runs for every push).
func pushBody(series string, value, expected, score float64) string {
	if !isFinite(value) || !isFinite(expected) || !isFinite(score) {
		// fmt's spelling of NaN and ±Inf; never on the push path (the
		// exporter sends finite numbers), kept for exact equality.
		return fmt.Sprintf("%s: %s (expected %s, score %.2f)", series, FormatSeconds(value), FormatSeconds(expected), score)
	}
	var buf [256]byte // typical bodies fit: one allocation, the string
	b := append(buf[:0], series...)
	b = append(b, ": "...)
	b = appendSeconds(b, value)
	b = append(b, " (expected "...)
	b = appendSeconds(b, expected)
	b = append(b, ", score "...)
	b = strconv.AppendFloat(b, score, 'f', 2, 64)
	b = append(b, ')')
	return string(b)
}

func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// FormatSeconds renders a latency for humans: 850µs, 12.3ms, 1.42s. The Swift
// formatter in watchapp follows the same rules.
func FormatSeconds(s float64) string {
	if !isFinite(s) {
		return formatSecondsFmt(s)
	}
	var buf [32]byte
	return string(appendSeconds(buf[:0], s))
}

// appendSeconds is FormatSeconds for finite s, appended to b. strconv's 'f'
// format with a precision is exactly what fmt's %.Nf prints for finite values.
func appendSeconds(b []byte, s float64) []byte {
	abs := math.Abs(s)
	switch {
	case abs == 0:
		return append(b, "0ms"...)
	case abs < 1e-3:
		b = strconv.AppendFloat(b, s*1e6, 'f', 0, 64)
		return append(b, "µs"...)
	case abs < 1:
		b = appendTrimZero(b, s*1e3, 1)
		return append(b, "ms"...)
	}
	b = appendTrimZero(b, s, 2)
	return append(b, 's')
}

// appendTrimZero appends v with prec decimals, then drops trailing zeros and
// a trailing point ("1.20" -> "1.2", "12.00" -> "12").
func appendTrimZero(b []byte, v float64, prec int) []byte {
	start := len(b)
	b = strconv.AppendFloat(b, v, 'f', prec, 64)
	if bytes.IndexByte(b[start:], '.') >= 0 {
		b = bytes.TrimRight(b, "0")
		b = bytes.TrimRight(b, ".")
	}
	return b
}

// formatSecondsFmt is FormatSeconds through fmt, for NaN and ±Inf.
func formatSecondsFmt(s float64) string {
	abs := s
	if abs < 0 {
		abs = -abs
	}
	switch {
	case abs == 0:
		return "0ms"
	case abs < 1e-3:
		return fmt.Sprintf("%.0fµs", s*1e6)
	case abs < 1:
		return trimZero(fmt.Sprintf("%.1f", s*1e3)) + "ms"
	}
	return trimZero(fmt.Sprintf("%.2f", s)) + "s"
}

func trimZero(v string) string {
	if strings.Contains(v, ".") {
		v = strings.TrimRight(strings.TrimRight(v, "0"), ".")
	}
	return v
}
