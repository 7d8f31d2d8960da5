package watchapiextension

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latencywatch/latencywatch/internal/watchstate"
)

//go:embed openapi.yaml
var openAPISpec []byte

// apiError is the body of every 4xx/5xx answer (schema Error in openapi.yaml).
type apiError struct {
	Error apiErrorBody `json:"error"`
}

type apiErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, field, format string, args ...any) {
	writeJSON(w, status, apiError{Error: apiErrorBody{Code: code, Message: fmt.Sprintf(format, args...), Field: field}})
}

// writeBoardError maps the board's errors to HTTP answers. Storage failures are
// the only 5xx: they are the server's fault, and their text names no secret.
func writeBoardError(w http.ResponseWriter, err error, what string) {
	var ve *watchstate.ValidationError
	switch {
	case errors.As(err, &ve):
		writeError(w, http.StatusBadRequest, "invalid_request", ve.Field, "%s", ve.Error())
	case errors.Is(err, watchstate.ErrNotFound):
		writeError(w, http.StatusNotFound, "not_found", "", "%s not found", what)
	case errors.Is(err, watchstate.ErrConflict):
		writeError(w, http.StatusConflict, "conflict", "", "%v", err)
	case errors.Is(err, watchstate.ErrLimit):
		writeError(w, http.StatusConflict, "limit_reached", "", "%v", err)
	default:
		writeError(w, http.StatusServiceUnavailable, "storage_unavailable", "", "could not save the change: %v", err)
	}
}

// decodeBody reads one JSON object into v, rejecting unknown fields, trailing
// data, other media types and bodies over the configured limit.
func decodeBody(w http.ResponseWriter, r *http.Request, limit int64, v any) bool {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			writeError(w, http.StatusUnsupportedMediaType, "unsupported_media_type", "", "Content-Type must be application/json")
			return false
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errors.New("trailing data after the JSON object")
	}
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("trailing data after the JSON object")
		}
	}
	if err == nil {
		return true
	}
	var mbe *http.MaxBytesError
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &mbe):
		writeError(w, http.StatusRequestEntityTooLarge, "payload_too_large", "", "request body is larger than %d bytes", mbe.Limit)
	case errors.As(err, &ute):
		writeError(w, http.StatusBadRequest, "invalid_request", ute.Field, "%s: must be %s", fieldName(ute.Field), ute.Type.String())
	case errors.As(err, &se), errors.Is(err, io.ErrUnexpectedEOF):
		writeError(w, http.StatusBadRequest, "invalid_request", "", "request body is not valid JSON")
	case errors.Is(err, io.EOF):
		writeError(w, http.StatusBadRequest, "invalid_request", "", "request body is empty; a JSON object is required")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		f := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		writeError(w, http.StatusBadRequest, "invalid_request", f, "unknown field %q", f)
	default:
		// time.Time parse errors and the like: say what is wrong without echoing huge input.
		msg := err.Error()
		if len(msg) > 200 {
			msg = msg[:200]
		}
		writeError(w, http.StatusBadRequest, "invalid_request", "", "request body is invalid: %s", msg)
	}
	return false
}

func fieldName(f string) string {
	if f == "" {
		return "body"
	}
	return f
}

// ---- request bodies (schemas in openapi.yaml) ----

type registerDeviceRequest struct {
	Token       string                 `json:"token"`
	Environment watchstate.Environment `json:"environment"`
	Topic       string                 `json:"topic"`
	User        string                 `json:"user"`
	Teams       []string               `json:"teams"`
	Name        string                 `json:"name"`
}

type ackRequest struct {
	By      string `json:"by"`
	Comment string `json:"comment"`
}

type createSilenceRequest struct {
	Matchers        []watchstate.Matcher `json:"matchers"`
	StartsAt        *time.Time           `json:"starts_at"`
	EndsAt          *time.Time           `json:"ends_at"`
	DurationSeconds *int64               `json:"duration_seconds"`
	CreatedBy       string               `json:"created_by"`
	Comment         string               `json:"comment"`
}

type silenceAlertRequest struct {
	DurationSeconds int64  `json:"duration_seconds"`
	CreatedBy       string `json:"created_by"`
	Comment         string `json:"comment"`
}

type ingestAlertRequest struct {
	ID       string                `json:"id"`
	GroupKey string                `json:"group_key"`
	Labels   map[string]string     `json:"labels"`
	Series   string                `json:"series"`
	State    watchstate.AlertState `json:"state"`
	Severity watchstate.Severity   `json:"severity"`
	Value    float64               `json:"value"`
	Expected float64               `json:"expected"`
	Score    float64               `json:"score"`
	Since    *time.Time            `json:"since"`
	Link     string                `json:"link"`
}

type ingestStatusRequest struct {
	Series   string                 `json:"series"`
	Service  string                 `json:"service"`
	Labels   map[string]string      `json:"labels"`
	Value    float64                `json:"value"`
	Expected float64                `json:"expected"`
	Score    float64                `json:"score"`
	State    watchstate.StatusState `json:"state"`
}

// ---- response bodies ----

type deviceList struct {
	Devices []watchstate.Device `json:"devices"`
}

type alertList struct {
	Alerts []watchstate.Alert `json:"alerts"`
}

type silenceList struct {
	Silences []watchstate.Silence `json:"silences"`
}

type statusBoard struct {
	Entries      []watchstate.StatusEntry `json:"entries"`
	Worst        watchstate.StatusState   `json:"worst"`
	FiringAlerts int                      `json:"firing_alerts"`
	GeneratedAt  time.Time                `json:"generated_at"`
}

type health struct {
	Status  string `json:"status"`
	Version string `json:"version"`
	// Counts only for authenticated callers: the number of firing alerts is
	// on-call information, /health itself is public for probes.
	Counts *watchstate.Counts `json:"counts,omitempty"`
}

// maxSilenceSeconds bounds duration_seconds (the board enforces the same span).
const maxSilenceSeconds = int64(watchstate.MaxSilenceSpan / time.Second)

// api holds the handlers; routes() wires them.
type api struct {
	board     *watchstate.Board
	now       func() time.Time
	bodyLimit int64
	ingest    bool
	version   string
	stream    *streamer
	// authenticated reports whether a request on a public route carries valid
	// credentials (always true without auth).
	authenticated func(*http.Request) bool
}

func (a *api) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/devices", a.registerDevice)
	mux.HandleFunc("GET /v1/devices", a.listDevices)
	mux.HandleFunc("DELETE /v1/devices/{token}", a.unregisterDevice)
	mux.HandleFunc("GET /v1/status", a.getStatus)
	mux.HandleFunc("POST /v1/status", a.ingestStatus)
	mux.HandleFunc("GET /v1/alerts", a.listAlerts)
	mux.HandleFunc("POST /v1/alerts", a.ingestAlert)
	mux.HandleFunc("GET /v1/alerts/{id}", a.getAlert)
	mux.HandleFunc("POST /v1/alerts/{id}/ack", a.ackAlert)
	mux.HandleFunc("DELETE /v1/alerts/{id}/ack", a.unackAlert)
	mux.HandleFunc("POST /v1/alerts/{id}/silence", a.silenceAlert)
	mux.HandleFunc("GET /v1/silences", a.listSilences)
	mux.HandleFunc("POST /v1/silences", a.createSilence)
	mux.HandleFunc("GET /v1/silences/{id}", a.getSilence)
	mux.HandleFunc("DELETE /v1/silences/{id}", a.expireSilence)
	mux.HandleFunc("GET /v1/events", a.stream.serve)
	return mux
}

func (a *api) health(w http.ResponseWriter, r *http.Request) {
	h := health{Status: "ok", Version: a.version}
	if a.authenticated(r) {
		c := a.board.Counts()
		h.Counts = &c
	}
	writeJSON(w, http.StatusOK, h)
}

func (a *api) openAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(openAPISpec)
}

func (a *api) registerDevice(w http.ResponseWriter, r *http.Request) {
	var req registerDeviceRequest
	if !decodeBody(w, r, a.bodyLimit, &req) {
		return
	}
	d, created, err := a.board.RegisterDevice(r.Context(), watchstate.Device{
		Token: req.Token, Environment: req.Environment, Topic: req.Topic, User: req.User, Teams: req.Teams, Name: req.Name,
	})
	if err != nil {
		writeBoardError(w, err, "device")
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	writeJSON(w, status, d)
}

func (a *api) listDevices(w http.ResponseWriter, r *http.Request) {
	var teams []string
	if t := r.URL.Query().Get("team"); t != "" {
		teams = []string{t}
	}
	writeJSON(w, http.StatusOK, deviceList{Devices: a.board.Devices(teams...)})
}

func (a *api) unregisterDevice(w http.ResponseWriter, r *http.Request) {
	if err := a.board.UnregisterDevice(r.Context(), r.PathValue("token")); err != nil {
		writeBoardError(w, err, "device")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) getStatus(w http.ResponseWriter, _ *http.Request) {
	entries := a.board.Status()
	worst := watchstate.StatusOK
	for _, e := range entries {
		if e.State.Rank() > worst.Rank() {
			worst = e.State
		}
	}
	writeJSON(w, http.StatusOK, statusBoard{
		Entries: entries, Worst: worst, FiringAlerts: a.board.Counts().FiringAlerts, GeneratedAt: a.now().UTC(),
	})
}

func (a *api) ingestDisabled(w http.ResponseWriter) bool {
	if a.ingest {
		return false
	}
	writeError(w, http.StatusForbidden, "ingest_disabled", "", "this endpoint is for alert producers and is off; set ingest::enabled: true in the watch_api configuration")
	return true
}

func (a *api) ingestStatus(w http.ResponseWriter, r *http.Request) {
	if a.ingestDisabled(w) {
		return
	}
	var req ingestStatusRequest
	if !decodeBody(w, r, a.bodyLimit, &req) {
		return
	}
	s, err := a.board.UpsertStatus(r.Context(), watchstate.StatusEntry{
		Series: req.Series, Service: req.Service, Labels: req.Labels, Value: req.Value,
		Expected: req.Expected, Score: req.Score, State: req.State,
	})
	if err != nil {
		writeBoardError(w, err, "status entry")
		return
	}
	writeJSON(w, http.StatusOK, s)
}

func (a *api) ingestAlert(w http.ResponseWriter, r *http.Request) {
	if a.ingestDisabled(w) {
		return
	}
	var req ingestAlertRequest
	if !decodeBody(w, r, a.bodyLimit, &req) {
		return
	}
	al := watchstate.Alert{
		ID: req.ID, GroupKey: req.GroupKey, Labels: req.Labels, Series: req.Series, State: req.State,
		Severity: req.Severity, Value: req.Value, Expected: req.Expected, Score: req.Score, Link: req.Link,
	}
	if al.ID == "" {
		al.ID = watchstate.Fingerprint(req.Labels)
	}
	switch {
	case req.Since != nil:
		al.Since = *req.Since
	default:
		// Without since, a re-posted alert continues its occurrence (keeping its
		// acknowledgement); otherwise it starts now.
		al.Since = a.now().UTC()
		if old, err := a.board.GetAlert(al.ID); err == nil && (old.State == watchstate.AlertFiring || al.State == watchstate.AlertResolved) {
			al.Since = old.Since
		}
	}
	got, err := a.board.UpsertAlert(r.Context(), al)
	if err != nil {
		writeBoardError(w, err, "alert")
		return
	}
	writeJSON(w, http.StatusOK, got)
}

func parseBoolParam(w http.ResponseWriter, r *http.Request, name string) (*bool, bool) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, true
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request", name, "%s: must be true or false", name)
		return nil, false
	}
	return &b, true
}

func (a *api) listAlerts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := watchstate.AlertFilter{
		State: watchstate.AlertState(q.Get("state")), Severity: watchstate.Severity(q.Get("severity")),
		Team: q.Get("team"), Service: q.Get("service"),
	}
	if f.State != "" && f.State != watchstate.AlertFiring && f.State != watchstate.AlertResolved {
		writeError(w, http.StatusBadRequest, "invalid_request", "state", "state: must be firing or resolved")
		return
	}
	if f.Severity != "" && f.Severity.Rank() == 0 {
		writeError(w, http.StatusBadRequest, "invalid_request", "severity", "severity: must be info, warning or critical")
		return
	}
	var ok bool
	if f.Acknowledged, ok = parseBoolParam(w, r, "acknowledged"); !ok {
		return
	}
	if f.Silenced, ok = parseBoolParam(w, r, "silenced"); !ok {
		return
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "invalid_request", "limit", "limit: must be an integer within 1..1000")
			return
		}
		f.Limit = n
	}
	writeJSON(w, http.StatusOK, alertList{Alerts: a.board.ListAlerts(f)})
}

func (a *api) getAlert(w http.ResponseWriter, r *http.Request) {
	al, err := a.board.GetAlert(r.PathValue("id"))
	if err != nil {
		writeBoardError(w, err, "alert")
		return
	}
	writeJSON(w, http.StatusOK, al)
}

func (a *api) ackAlert(w http.ResponseWriter, r *http.Request) {
	var req ackRequest
	if !decodeBody(w, r, a.bodyLimit, &req) {
		return
	}
	al, err := a.board.Acknowledge(r.Context(), r.PathValue("id"), req.By, req.Comment)
	if err != nil {
		writeBoardError(w, err, "alert")
		return
	}
	writeJSON(w, http.StatusOK, al)
}

func (a *api) unackAlert(w http.ResponseWriter, r *http.Request) {
	al, err := a.board.Unacknowledge(r.Context(), r.PathValue("id"))
	if err != nil {
		writeBoardError(w, err, "alert")
		return
	}
	writeJSON(w, http.StatusOK, al)
}

// silenceAlert is the watch's "Silence 1h" action: a silence with an equality
// matcher for each of the alert's labels.
func (a *api) silenceAlert(w http.ResponseWriter, r *http.Request) {
	var req silenceAlertRequest
	if !decodeBody(w, r, a.bodyLimit, &req) {
		return
	}
	if req.DurationSeconds < 60 || req.DurationSeconds > maxSilenceSeconds {
		writeError(w, http.StatusBadRequest, "invalid_request", "duration_seconds", "duration_seconds: must be within 60..%d", maxSilenceSeconds)
		return
	}
	al, err := a.board.GetAlert(r.PathValue("id"))
	if err != nil {
		writeBoardError(w, err, "alert")
		return
	}
	if len(al.Labels) == 0 {
		writeError(w, http.StatusConflict, "conflict", "", "alert %s has no labels to silence it by", al.ID)
		return
	}
	matchers := make([]watchstate.Matcher, 0, len(al.Labels))
	for k, v := range al.Labels {
		matchers = append(matchers, watchstate.Matcher{Name: k, Op: watchstate.MatchEqual, Value: v})
	}
	sortMatchers(matchers)
	now := a.now().UTC()
	s, err := a.board.CreateSilence(r.Context(), watchstate.Silence{
		Matchers: matchers, StartsAt: now, EndsAt: now.Add(time.Duration(req.DurationSeconds) * time.Second),
		CreatedBy: req.CreatedBy, Comment: req.Comment,
	})
	if err != nil {
		writeBoardError(w, err, "alert")
		return
	}
	writeJSON(w, http.StatusCreated, s)
}

func sortMatchers(ms []watchstate.Matcher) {
	slices.SortFunc(ms, func(x, y watchstate.Matcher) int { return strings.Compare(x.Name, y.Name) })
}

func (a *api) listSilences(w http.ResponseWriter, r *http.Request) {
	state := watchstate.SilenceState(r.URL.Query().Get("state"))
	switch state {
	case "", watchstate.SilenceActive, watchstate.SilencePending, watchstate.SilenceExpired:
	default:
		writeError(w, http.StatusBadRequest, "invalid_request", "state", "state: must be active, pending or expired")
		return
	}
	writeJSON(w, http.StatusOK, silenceList{Silences: a.board.ListSilences(state)})
}

func (a *api) createSilence(w http.ResponseWriter, r *http.Request) {
	var req createSilenceRequest
	if !decodeBody(w, r, a.bodyLimit, &req) {
		return
	}
	s := watchstate.Silence{Matchers: req.Matchers, CreatedBy: req.CreatedBy, Comment: req.Comment}
	if req.StartsAt != nil {
		s.StartsAt = *req.StartsAt
	} else {
		s.StartsAt = a.now().UTC()
	}
	switch {
	case (req.EndsAt == nil) == (req.DurationSeconds == nil):
		writeError(w, http.StatusBadRequest, "invalid_request", "ends_at", "exactly one of ends_at and duration_seconds is required")
		return
	case req.EndsAt != nil:
		s.EndsAt = *req.EndsAt
	default:
		if *req.DurationSeconds < 1 || *req.DurationSeconds > maxSilenceSeconds {
			writeError(w, http.StatusBadRequest, "invalid_request", "duration_seconds", "duration_seconds: must be within 1..%d", maxSilenceSeconds)
			return
		}
		s.EndsAt = s.StartsAt.Add(time.Duration(*req.DurationSeconds) * time.Second)
	}
	created, err := a.board.CreateSilence(r.Context(), s)
	if err != nil {
		writeBoardError(w, err, "silence")
		return
	}
	writeJSON(w, http.StatusCreated, created)
}

func (a *api) getSilence(w http.ResponseWriter, r *http.Request) {
	s, err := a.board.GetSilence(r.PathValue("id"))
	if err != nil {
		writeBoardError(w, err, "silence")
		return
	}
	writeJSON(w, http.StatusOK, s)
}

func (a *api) expireSilence(w http.ResponseWriter, r *http.Request) {
	s, err := a.board.ExpireSilence(r.Context(), r.PathValue("id"))
	if err != nil {
		writeBoardError(w, err, "silence")
		return
	}
	writeJSON(w, http.StatusOK, s)
}

// notFound answers unknown paths outside /v1 with the JSON error shape.
func notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, "not_found", "", "no route for %s %s", r.Method, truncate(r.URL.Path, 100))
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
