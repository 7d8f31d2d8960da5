package apnsexporter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componentstatus"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"

	"github.com/latencywatch/latencywatch/exporter/apnsexporter/internal/alertpolicy"
	"github.com/latencywatch/latencywatch/exporter/apnsexporter/internal/apnsclient"
	"github.com/latencywatch/latencywatch/exporter/apnsexporter/internal/metadata"
	"github.com/latencywatch/latencywatch/internal/watchstate"
)

const stateKey = "alert_state"

// persistedState is what the storage extension keeps.
type persistedState struct {
	Policy alertpolicy.Snapshot `json:"policy"`
	// Forgotten are static device tokens APNs rejected for good.
	Forgotten []string `json:"forgotten"`
}

type apnsExporter struct {
	cfg       *Config
	set       exporter.Settings
	policyCfg alertpolicy.Config
	engine    *alertpolicy.Engine
	static    []watchstate.Device
	receivers map[string][]string
	linkTmpl  linkTemplate
	clock     func() time.Time
	// newSender builds the APNs client in start (tests replace it).
	newSender func() (sender, error)

	// Set in start.
	host    component.Host
	board   watchstate.AlertBoard
	storage storage.Client
	tel     *metadata.TelemetryBuilder
	disp    *dispatcher

	evalMu sync.Mutex // serialises policy evaluation and what follows it
	// dirty is set when the durable state changed since the last save; the
	// loop saves at most once per evaluation_interval, off the push path
	// (a snapshot is O(alerts) and file_storage syncs to disk).
	dirty atomic.Bool

	mu        sync.Mutex // protects forgotten
	forgotten map[string]bool

	stopOnce sync.Once
	stop     chan struct{}
	loopDone chan struct{}
}

func newAPNsExporter(cfg *Config, set exporter.Settings) (*apnsExporter, error) {
	pc, err := cfg.policy()
	if err != nil {
		return nil, err
	}
	e := &apnsExporter{
		cfg: cfg, set: set, policyCfg: pc, engine: alertpolicy.New(pc), clock: time.Now,
		receivers: map[string][]string{}, forgotten: map[string]bool{},
		stop: make(chan struct{}),
	}
	for _, r := range cfg.Receivers {
		e.receivers[r.Name] = r.Teams
	}
	e.linkTmpl = parseLinkTemplate(cfg.LinkTemplate)
	for i, d := range cfg.Devices {
		dev := d.device(cfg.APNs)
		if err := dev.Validate(); err != nil {
			return nil, fmt.Errorf("devices[%d]: %w", i, err)
		}
		e.static = append(e.static, dev)
	}
	e.newSender = func() (sender, error) { return newClient(cfg.APNs) }
	return e, nil
}

func newClient(a APNsConfig) (*apnsclient.Client, error) {
	o := apnsclient.Options{Endpoint: a.Endpoint, CAFile: a.CAFile, Timeout: a.RequestTimeout}
	switch {
	case a.Token != nil:
		o.KeyFile, o.KeyID, o.TeamID = a.Token.KeyFile, a.Token.KeyID, a.Token.TeamID
	case a.Certificate != nil:
		o.CertFile = a.Certificate.File
		switch {
		case a.Certificate.PasswordFile != "":
			b, err := os.ReadFile(a.Certificate.PasswordFile)
			if err != nil {
				return nil, fmt.Errorf("apns::certificate::password_file %q cannot be read", a.Certificate.PasswordFile)
			}
			o.CertPassword = strings.TrimRight(string(b), "\r\n")
		case a.Certificate.PasswordEnv != "":
			v, ok := os.LookupEnv(a.Certificate.PasswordEnv)
			if !ok {
				return nil, fmt.Errorf("apns::certificate::password_env: environment variable %q is not set", a.Certificate.PasswordEnv)
			}
			o.CertPassword = v
		}
	}
	return apnsclient.New(o)
}

func (e *apnsExporter) logger() *zap.Logger { return e.set.Logger }

func (e *apnsExporter) start(ctx context.Context, host component.Host) error {
	e.host = host
	tel, err := metadata.NewTelemetryBuilder(e.set.TelemetrySettings)
	if err != nil {
		return fmt.Errorf("creating the apns exporter's telemetry: %w", err)
	}
	e.tel = tel
	client, err := e.newSender()
	if err != nil {
		return err
	}
	if e.cfg.WatchAPI != nil {
		b, err := watchstate.FindBoard(host, *e.cfg.WatchAPI)
		if err != nil {
			return fmt.Errorf("watch_api: %w", err)
		}
		e.board = b
		e.engine.SetSources(b, b)
	}
	if e.cfg.Storage != nil {
		ext, ok := host.GetExtensions()[*e.cfg.Storage]
		if !ok {
			return fmt.Errorf("storage: extension %q is not configured", *e.cfg.Storage)
		}
		se, ok := ext.(storage.Extension)
		if !ok {
			return fmt.Errorf("storage: extension %q is not a storage extension", *e.cfg.Storage)
		}
		e.storage, err = se.GetClient(ctx, component.KindExporter, e.set.ID, "alerts")
		if err != nil {
			return fmt.Errorf("storage: getting a client from %q: %w", *e.cfg.Storage, err)
		}
		if err := e.load(ctx); err != nil {
			return err
		}
	}
	e.disp = newDispatcher(client, e.cfg.APNs, e.tel, e.logger(), e.forget)
	e.loopDone = make(chan struct{})
	go e.loop()
	return nil
}

// load restores the policy state and re-publishes the alerts to the board.
func (e *apnsExporter) load(ctx context.Context) error {
	data, err := e.storage.Get(ctx, stateKey)
	if err != nil {
		return fmt.Errorf("storage: reading the alert state: %w", err)
	}
	if data == nil {
		return nil
	}
	var st persistedState
	if err := json.Unmarshal(data, &st); err != nil || !e.engine.Restore(st.Policy, e.clock()) {
		// A corrupt or foreign state must not stop alerting.
		e.logger().Warn("ignoring an unreadable persisted alert state; starting empty")
		return nil
	}
	e.mu.Lock()
	for _, t := range st.Forgotten {
		e.forgotten[t] = true
	}
	e.mu.Unlock()
	if e.board != nil {
		for _, a := range e.engine.Alerts() {
			e.boardErr(e.board.UpsertAlert(ctx, e.boardAlert(a)))
		}
	}
	return nil
}

// saveIfDirty persists the state when it changed since the last save.
func (e *apnsExporter) saveIfDirty(ctx context.Context) {
	if e.storage == nil || !e.dirty.Swap(false) {
		return
	}
	e.save(ctx)
}

func (e *apnsExporter) save(ctx context.Context) {
	if e.storage == nil {
		return
	}
	st := persistedState{Policy: e.engine.Snapshot()}
	e.mu.Lock()
	for t := range e.forgotten {
		st.Forgotten = append(st.Forgotten, t)
	}
	e.mu.Unlock()
	slices.Sort(st.Forgotten)
	data, err := json.Marshal(st)
	if err == nil {
		err = e.storage.Set(ctx, stateKey, data)
	}
	if err != nil {
		componentstatus.ReportStatus(e.host, componentstatus.NewRecoverableErrorEvent(fmt.Errorf("saving the alert state: %w", err)))
	}
}

func (e *apnsExporter) shutdown(ctx context.Context) error {
	var err error
	e.stopOnce.Do(func() {
		close(e.stop)
		if e.loopDone != nil {
			<-e.loopDone
		}
		if e.disp != nil {
			e.disp.stop(ctx)
		}
		if e.storage != nil {
			e.save(ctx) // the loop has stopped: no concurrent save
			err = e.storage.Close(ctx)
		}
		if e.tel != nil {
			e.tel.Shutdown()
		}
	})
	return err
}

// loop evaluates the policy and saves changed state every evaluation_interval
// (a group_wait of 0 is evaluated in consumeMetrics, not here).
func (e *apnsExporter) loop() {
	defer close(e.loopDone)
	t := time.NewTicker(e.cfg.EvaluationInterval)
	defer t.Stop()
	for {
		select {
		case <-e.stop:
			return
		case <-t.C:
		}
		e.evaluate(context.Background(), e.clock())
		e.saveIfDirty(context.Background())
	}
}

func (e *apnsExporter) consumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	now := e.clock()
	due := false
	forEachObservation(md, e.policyCfg.Severity.Attribute, func(o alertpolicy.Observation) {
		r := e.engine.Observe(now, o)
		due = due || r.Due
		if e.board != nil {
			e.publish(ctx, o, r, now)
		}
	})
	if due {
		// group_wait 0: decide now rather than at the next tick.
		e.evaluate(ctx, now)
	}
	return nil
}

// publish puts the series on the status board and its alert on the alert board.
func (e *apnsExporter) publish(ctx context.Context, o alertpolicy.Observation, r alertpolicy.ObserveResult, now time.Time) {
	state := watchstate.StatusOK
	if o.Flagged {
		state = watchstate.StatusWarning
		if r.OK && r.Alert.Severity == watchstate.SeverityCritical {
			state = watchstate.StatusCritical
		}
	}
	service := o.Labels["service.name"]
	if service == "" {
		service = o.Labels[labelMetric]
	}
	_, err := e.board.UpsertStatus(ctx, watchstate.StatusEntry{
		Series: o.Series, Service: service, Labels: o.Labels, Value: o.Value, Expected: o.Expected,
		Score: clamp01(o.Score), State: state, Since: now, Updated: now,
	})
	e.boardErr(nil, err)
	// A due alert is published by evaluate, with its group key, right after.
	if r.OK && !r.Due && !r.Alert.Resolved() {
		e.boardErr(e.board.UpsertAlert(ctx, e.boardAlert(r.Alert)))
	}
}

// boardErr counts what the board refused (too many labels or entries, a label
// value longer than the board allows, …); pushes do not depend on the board.
func (e *apnsExporter) boardErr(_ any, err error) {
	if err != nil {
		e.tel.ApnsExporterBoardErrors.Add(context.Background(), 1)
	}
}

func clamp01(v float64) float64 { return min(max(v, 0), 1) }

// evaluate runs the policy at now and queues the pushes it decides.
func (e *apnsExporter) evaluate(ctx context.Context, now time.Time) {
	e.evalMu.Lock()
	defer e.evalMu.Unlock()
	res := e.engine.Flush(now)
	if e.board != nil {
		for _, a := range res.Resolved {
			e.boardErr(e.board.UpsertAlert(ctx, e.boardAlert(a)))
		}
	}
	for i := range res.Notifications {
		n := &res.Notifications[i]
		if e.board != nil {
			for _, a := range n.Firing {
				e.boardErr(e.board.UpsertAlert(ctx, e.boardAlert(a)))
			}
		}
		e.notify(n, now)
	}
	if len(res.Notifications) > 0 || len(res.Resolved) > 0 || len(res.Removed) > 0 {
		e.dirty.Store(true)
	}
}

// boardAlert converts a policy alert to the shared model.
func (e *apnsExporter) boardAlert(a alertpolicy.Alert) watchstate.Alert {
	out := watchstate.Alert{
		ID: a.ID, GroupKey: a.GroupKey, Labels: a.Labels, Series: a.Series, State: watchstate.AlertFiring,
		Severity: a.Severity, Value: a.Value, Expected: a.Expected, Score: clamp01(a.Score),
		Since: a.StartsAt, Updated: a.UpdatedAt, Link: e.link(a.Labels),
	}
	if a.Resolved() {
		at := a.ResolvedAt
		out.State, out.ResolvedAt = watchstate.AlertResolved, &at
	}
	return out
}

// linkTemplate is link_template split into literal text and label names, so
// building a link per push needs no regular expression.
type linkTemplate struct {
	parts []string // even indexes: text; odd indexes: label names
}

var linkVar = regexp.MustCompile(`\{([^{}]+)\}`)

func parseLinkTemplate(t string) linkTemplate {
	var lt linkTemplate
	last := 0
	for _, m := range linkVar.FindAllStringSubmatchIndex(t, -1) {
		lt.parts = append(lt.parts, t[last:m[0]], t[m[2]:m[3]])
		last = m[1]
	}
	lt.parts = append(lt.parts, t[last:])
	return lt
}

func (lt linkTemplate) expand(labels map[string]string) string {
	if len(lt.parts) == 1 {
		return lt.parts[0]
	}
	var b strings.Builder
	for i, p := range lt.parts {
		if i%2 == 0 {
			b.WriteString(p)
		} else {
			b.WriteString(url.QueryEscape(labels[p]))
		}
	}
	return b.String()
}

func (e *apnsExporter) link(labels map[string]string) string { return e.linkTmpl.expand(labels) }

// collapseID is a 16-hex-digit hash of the group key (APNs allows 64 bytes).
func collapseID(groupKey string) string {
	return watchstate.Hex64(watchstate.FNV64a(groupKey))
}

// notify turns one group notification into one push per device.
func (e *apnsExporter) notify(n *alertpolicy.Notification, now time.Time) {
	if len(n.Firing)+len(n.Resolved) == 0 {
		return // the policy never decides so; never index an empty notification
	}
	e.tel.ApnsExporterNotifications.Add(context.Background(), 1)
	lead := e.boardAlert(n.Lead())
	lead.GroupKey = n.GroupKey
	payload := watchstate.NewPushPayload(lead, e.cfg.APNs.AllowCritical)
	if more := len(n.Firing) + len(n.Resolved) - 1; more > 0 {
		payload.APS.Alert.Body += fmt.Sprintf(" (+%d more)", more)
	}
	if n.Repeat {
		payload.APS.Alert.Title = "Still firing: " + payload.APS.Alert.Title
	}
	body, err := payload.Encode(watchstate.MaxPushPayload)
	if err != nil {
		e.logger().Warn("cannot build a valid push payload; not sending", zap.String("group", n.GroupKey), zap.Error(err))
		e.disp.dropped("payload")
		return
	}
	var exp time.Time
	if e.cfg.APNs.Expiration > 0 {
		exp = now.Add(e.cfg.APNs.Expiration)
	}
	collapse := collapseID(n.GroupKey)
	for _, d := range e.devicesFor(n.Receiver, lead.Team()) {
		e.disp.enqueue(pushJob{decided: time.Now(), n: apnsclient.Notification{
			Environment: apnsclient.Environment(d.Environment), DeviceToken: d.Token, Topic: d.Topic,
			CollapseID: collapse, Priority: e.cfg.APNs.Priority, Expiration: exp, Payload: body,
		}})
	}
}

// devicesFor lists the devices of a receiver: those subscribed to its teams,
// or, for a receiver without teams, to the alert's team (all if it has none).
func (e *apnsExporter) devicesFor(receiver, alertTeam string) []watchstate.Device {
	teams := e.receivers[receiver]
	if len(teams) == 0 && alertTeam != "" {
		teams = []string{alertTeam}
	}
	var out []watchstate.Device
	if e.board != nil {
		out = e.board.Devices(teams...) // unique tokens
	}
	if len(e.static) == 0 {
		return out
	}
	seen := make(map[string]bool, len(out))
	for _, d := range out {
		seen[d.Token] = true
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, d := range e.static {
		if seen[d.Token] || e.forgotten[d.Token] {
			continue
		}
		if len(teams) == 0 || len(d.Teams) == 0 || slices.ContainsFunc(d.Teams, func(t string) bool { return slices.Contains(teams, t) }) {
			seen[d.Token] = true
			out = append(out, d)
		}
	}
	return out
}

// forget drops a token APNs rejected for good, from the board and the static list.
func (e *apnsExporter) forget(token string) {
	e.tel.ApnsExporterDevicesForgotten.Add(context.Background(), 1)
	if e.board != nil {
		if err := e.board.ForgetDevice(context.Background(), token); err != nil && !errors.Is(err, context.Canceled) {
			e.logger().Warn("forgetting a device on the watch_api board failed", zap.String("device", shortToken(token)), zap.Error(err))
		}
	}
	e.mu.Lock()
	static := slices.ContainsFunc(e.static, func(d watchstate.Device) bool { return d.Token == token })
	if static {
		e.forgotten[token] = true
	}
	e.mu.Unlock()
	if static {
		e.dirty.Store(true)
	}
}
