package apnsexporter

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configretry"

	"github.com/latencywatch/latencywatch/exporter/apnsexporter/internal/alertpolicy"
	"github.com/latencywatch/latencywatch/internal/watchstate"
)

// Config is the apns exporter's configuration.
type Config struct {
	// APNs is how to reach Apple and sign the requests.
	APNs APNsConfig `mapstructure:"apns"`
	// Devices is a static device list (in addition to the watch_api devices).
	Devices []DeviceConfig `mapstructure:"devices"`
	// WatchAPI names the watch_api extension whose devices, silences and
	// acknowledgements are used and to whose board alerts and status are published.
	WatchAPI *component.ID `mapstructure:"watch_api"`
	// Storage names a storage extension that keeps the alert state across restarts.
	Storage *component.ID `mapstructure:"storage"`

	// Route is the routing tree (Alertmanager's route).
	Route RouteConfig `mapstructure:"route"`
	// Receivers are the device groups routes send to.
	Receivers []ReceiverConfig `mapstructure:"receivers"`
	// InhibitRules mute target alerts while matching source alerts fire.
	InhibitRules []InhibitRuleConfig `mapstructure:"inhibit_rules"`
	// ResolveTimeout: an alert without a flagged point for this long resolves.
	ResolveTimeout time.Duration `mapstructure:"resolve_timeout"`
	// SendResolved sends a push when an alert the wearer was told about resolves.
	SendResolved bool `mapstructure:"send_resolved"`
	// AckTimeout: an acknowledgement stops repeats for this long; 0 = until resolved.
	AckTimeout time.Duration `mapstructure:"ack_timeout"`
	// Severity decides an alert's severity (and so its interruption level).
	Severity SeverityConfig `mapstructure:"severity"`
	// EvaluationInterval is how often groups and resolutions are checked
	// (a group_wait of 0 is honoured at once, independently of it).
	EvaluationInterval time.Duration `mapstructure:"evaluation_interval"`
	// LinkTemplate builds the alert link; {label} is replaced by the
	// URL-escaped label value. Empty = no link.
	LinkTemplate string `mapstructure:"link_template"`
}

// APNsConfig configures the APNs client and dispatcher.
type APNsConfig struct {
	// Environment of the static devices: production or development.
	Environment string `mapstructure:"environment"`
	// Topic is the watch app's bundle id, the default apns-topic.
	Topic string `mapstructure:"topic"`
	// Endpoint replaces Apple's hosts (e.g. a test server); empty = Apple's.
	Endpoint string `mapstructure:"endpoint"`
	// CAFile adds a CA to trust for Endpoint.
	CAFile string `mapstructure:"ca_file"`
	// Token is provider-token (.p8) authentication.
	Token *TokenAuthConfig `mapstructure:"token"`
	// Certificate is certificate (.p12 / PEM) authentication.
	Certificate *CertificateAuthConfig `mapstructure:"certificate"`
	// Priority is apns-priority: 10 (immediate) or 5 (power-friendly).
	Priority int `mapstructure:"priority"`
	// Expiration: how long APNs keeps trying to deliver (apns-expiration); 0 = once.
	Expiration time.Duration `mapstructure:"expiration"`
	// AllowCritical lets critical alerts use the "critical" interruption level
	// (needs Apple's critical-alerts entitlement); otherwise they are time-sensitive.
	AllowCritical bool `mapstructure:"allow_critical"`
	// MaxConcurrency bounds concurrent APNs requests.
	MaxConcurrency int `mapstructure:"max_concurrency"`
	// QueueSize bounds pushes waiting for a sender; beyond it pushes are dropped (counted).
	QueueSize int `mapstructure:"queue_size"`
	// PerDevice limits the push rate to one device token.
	PerDevice RateLimitConfig `mapstructure:"per_device"`
	// RequestTimeout bounds one APNs request.
	RequestTimeout time.Duration `mapstructure:"request_timeout"`
	// Retry is the back-off for retryable and throttled answers.
	Retry configretry.BackOffConfig `mapstructure:"retry_on_failure"`
}

// TokenAuthConfig is APNs provider-token authentication.
type TokenAuthConfig struct {
	// KeyFile is the .p8 file Apple issued.
	KeyFile string `mapstructure:"key_file"`
	// KeyID is the 10-character key id.
	KeyID string `mapstructure:"key_id"`
	// TeamID is the 10-character developer team id.
	TeamID string `mapstructure:"team_id"`
}

// CertificateAuthConfig is APNs certificate authentication.
type CertificateAuthConfig struct {
	// File is a .p12/.pfx or PEM (certificate + key) file.
	File string `mapstructure:"file"`
	// PasswordFile holds the file's password; PasswordEnv names an env var with it.
	PasswordFile string `mapstructure:"password_file"`
	PasswordEnv  string `mapstructure:"password_env"`
}

// RateLimitConfig is a token bucket.
type RateLimitConfig struct {
	// Rate is pushes per second; Burst the bucket size.
	Rate  float64 `mapstructure:"rate"`
	Burst int     `mapstructure:"burst"`
}

// DeviceConfig is one statically configured device.
type DeviceConfig struct {
	Token string `mapstructure:"token"`
	// Environment defaults to apns.environment, Topic to apns.topic.
	Environment string   `mapstructure:"environment"`
	Topic       string   `mapstructure:"topic"`
	User        string   `mapstructure:"user"`
	Teams       []string `mapstructure:"teams"`
}

// RouteConfig is one node of the routing tree; unset fields inherit.
type RouteConfig struct {
	Receiver string `mapstructure:"receiver"`
	// Matchers in Alertmanager's text form: name=value, name!=value, name=~re, name!~re.
	Matchers       []string       `mapstructure:"matchers"`
	Continue       bool           `mapstructure:"continue"`
	GroupBy        []string       `mapstructure:"group_by"`
	GroupWait      *time.Duration `mapstructure:"group_wait"`
	GroupInterval  *time.Duration `mapstructure:"group_interval"`
	RepeatInterval *time.Duration `mapstructure:"repeat_interval"`
	Routes         []RouteConfig  `mapstructure:"routes"`
}

// ReceiverConfig is a device group: the devices subscribed to Teams (all
// devices if empty: then the alert's own team label picks the devices).
type ReceiverConfig struct {
	Name  string   `mapstructure:"name"`
	Teams []string `mapstructure:"teams"`
}

// InhibitRuleConfig is Alertmanager's inhibit rule.
type InhibitRuleConfig struct {
	SourceMatchers []string `mapstructure:"source_matchers"`
	TargetMatchers []string `mapstructure:"target_matchers"`
	Equal          []string `mapstructure:"equal"`
}

// SeverityConfig: the attribute wins when present and valid, then score bands, then default.
type SeverityConfig struct {
	Attribute  string            `mapstructure:"attribute"`
	ScoreBands []ScoreBandConfig `mapstructure:"score_bands"`
	Default    string            `mapstructure:"default"`
}

// ScoreBandConfig maps scores >= MinScore to a severity.
type ScoreBandConfig struct {
	MinScore float64 `mapstructure:"min_score"`
	Severity string  `mapstructure:"severity"`
}

var _ component.Config = (*Config)(nil)

// Validate checks the configuration without I/O.
func (c *Config) Validate() error {
	var errs []error
	a := c.APNs
	switch a.Environment {
	case "production", "development":
	default:
		errs = append(errs, fmt.Errorf("apns::environment: must be production or development, got %q", a.Environment))
	}
	if a.Topic == "" || strings.ContainsAny(a.Topic, " /") {
		errs = append(errs, errors.New("apns::topic: the watch app's bundle id is required (e.g. com.example.latencywatch.watchkitapp)"))
	}
	switch {
	case a.Token == nil && a.Certificate == nil:
		errs = append(errs, errors.New("apns: set token (key_file, key_id, team_id) or certificate (file)"))
	case a.Token != nil && a.Certificate != nil:
		errs = append(errs, errors.New("apns: token and certificate are mutually exclusive"))
	case a.Token != nil:
		if a.Token.KeyFile == "" || a.Token.KeyID == "" || a.Token.TeamID == "" {
			errs = append(errs, errors.New("apns::token: key_file, key_id and team_id are all required"))
		}
	case a.Certificate != nil:
		if a.Certificate.File == "" {
			errs = append(errs, errors.New("apns::certificate::file: is required"))
		}
		if a.Certificate.PasswordFile != "" && a.Certificate.PasswordEnv != "" {
			errs = append(errs, errors.New("apns::certificate: password_file and password_env are mutually exclusive"))
		}
	}
	if a.Endpoint != "" && !strings.HasPrefix(a.Endpoint, "https://") {
		errs = append(errs, fmt.Errorf("apns::endpoint: must be an https:// URL, got %q", a.Endpoint))
	}
	if a.Priority != 10 && a.Priority != 5 {
		errs = append(errs, fmt.Errorf("apns::priority: must be 10 or 5, got %d", a.Priority))
	}
	if a.Expiration < 0 {
		errs = append(errs, errors.New("apns::expiration: must not be negative"))
	}
	if a.MaxConcurrency < 1 {
		errs = append(errs, errors.New("apns::max_concurrency: must be at least 1"))
	}
	if a.QueueSize < 1 {
		errs = append(errs, errors.New("apns::queue_size: must be at least 1"))
	}
	if a.PerDevice.Rate <= 0 || a.PerDevice.Burst < 1 {
		errs = append(errs, errors.New("apns::per_device: rate must be positive and burst at least 1"))
	}
	if a.RequestTimeout <= 0 {
		errs = append(errs, errors.New("apns::request_timeout: must be positive"))
	}
	if err := a.Retry.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("apns::retry_on_failure: %w", err))
	}
	for i, d := range c.Devices {
		dev := d.device(a)
		if err := dev.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("devices[%d]: %w", i, err))
		}
	}
	if c.WatchAPI == nil && len(c.Devices) == 0 {
		errs = append(errs, errors.New("devices: no device source: list devices or set watch_api"))
	}
	if _, err := c.routeTree(); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.inhibitRules(); err != nil {
		errs = append(errs, err)
	}
	if _, err := c.severityPolicy(); err != nil {
		errs = append(errs, err)
	}
	if c.ResolveTimeout <= 0 {
		errs = append(errs, errors.New("resolve_timeout: must be positive"))
	}
	if c.AckTimeout < 0 {
		errs = append(errs, errors.New("ack_timeout: must not be negative"))
	}
	if c.EvaluationInterval <= 0 {
		errs = append(errs, errors.New("evaluation_interval: must be positive"))
	}
	return errors.Join(errs...)
}

func (d DeviceConfig) device(a APNsConfig) watchstate.Device {
	dev := watchstate.Device{
		Token: d.Token, Environment: watchstate.Environment(d.Environment), Topic: d.Topic,
		User: d.User, Teams: d.Teams,
	}
	if dev.Environment == "" {
		dev.Environment = watchstate.Environment(a.Environment)
	}
	if dev.Topic == "" {
		dev.Topic = a.Topic
	}
	if dev.User == "" {
		dev.User = "static"
	}
	return dev
}

// routeTree builds and compiles the policy's routing tree and checks that
// every route names a configured receiver.
func (c *Config) routeTree() (*alertpolicy.Route, error) {
	receivers := map[string]bool{}
	for i, r := range c.Receivers {
		if r.Name == "" {
			return nil, fmt.Errorf("receivers[%d]::name: is required", i)
		}
		if receivers[r.Name] {
			return nil, fmt.Errorf("receivers[%d]::name: %q is defined twice", i, r.Name)
		}
		receivers[r.Name] = true
	}
	root, err := buildRoute(c.Route, "route", receivers)
	if err != nil {
		return nil, err
	}
	if err := root.Compile("route"); err != nil {
		return nil, err
	}
	return root, nil
}

func buildRoute(rc RouteConfig, path string, receivers map[string]bool) (*alertpolicy.Route, error) {
	if rc.Receiver != "" && !receivers[rc.Receiver] {
		return nil, fmt.Errorf("%s::receiver: %q is not one of receivers", path, rc.Receiver)
	}
	r := &alertpolicy.Route{
		Receiver: rc.Receiver, Continue: rc.Continue, GroupBy: rc.GroupBy,
		GroupWait: rc.GroupWait, GroupInterval: rc.GroupInterval, RepeatInterval: rc.RepeatInterval,
	}
	for i, m := range rc.Matchers {
		pm, err := alertpolicy.ParseMatcher(m)
		if err != nil {
			return nil, fmt.Errorf("%s::matchers[%d]: %w", path, i, err)
		}
		r.Matchers = append(r.Matchers, pm)
	}
	for i, child := range rc.Routes {
		cr, err := buildRoute(child, fmt.Sprintf("%s::routes[%d]", path, i), receivers)
		if err != nil {
			return nil, err
		}
		r.Routes = append(r.Routes, cr)
	}
	return r, nil
}

func (c *Config) inhibitRules() ([]alertpolicy.InhibitRule, error) {
	var out []alertpolicy.InhibitRule
	for i, rc := range c.InhibitRules {
		path := fmt.Sprintf("inhibit_rules[%d]", i)
		var r alertpolicy.InhibitRule
		for j, m := range rc.SourceMatchers {
			pm, err := alertpolicy.ParseMatcher(m)
			if err != nil {
				return nil, fmt.Errorf("%s::source_matchers[%d]: %w", path, j, err)
			}
			r.SourceMatchers = append(r.SourceMatchers, pm)
		}
		for j, m := range rc.TargetMatchers {
			pm, err := alertpolicy.ParseMatcher(m)
			if err != nil {
				return nil, fmt.Errorf("%s::target_matchers[%d]: %w", path, j, err)
			}
			r.TargetMatchers = append(r.TargetMatchers, pm)
		}
		r.Equal = rc.Equal
		if err := r.Compile(path); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

func (c *Config) severityPolicy() (alertpolicy.SeverityPolicy, error) {
	p := alertpolicy.SeverityPolicy{Attribute: c.Severity.Attribute, Default: watchstate.Severity(c.Severity.Default)}
	for _, b := range c.Severity.ScoreBands {
		p.Bands = append(p.Bands, alertpolicy.ScoreBand{MinScore: b.MinScore, Severity: watchstate.Severity(b.Severity)})
	}
	return p, p.Validate("severity")
}

// policy builds the alert policy configuration.
func (c *Config) policy() (alertpolicy.Config, error) {
	root, err := c.routeTree()
	if err != nil {
		return alertpolicy.Config{}, err
	}
	inhibit, err := c.inhibitRules()
	if err != nil {
		return alertpolicy.Config{}, err
	}
	sev, err := c.severityPolicy()
	if err != nil {
		return alertpolicy.Config{}, err
	}
	return alertpolicy.Config{
		Route: root, Inhibit: inhibit, ResolveTimeout: c.ResolveTimeout, SendResolved: c.SendResolved,
		AckTimeout: c.AckTimeout, Severity: sev,
	}, nil
}
