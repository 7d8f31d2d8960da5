package tfanomalyprocessor

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Modes of scoring.
const (
	// ModeModel scores windows with a TensorFlow Lite model.
	ModeModel = "model"
	// ModeStatistical scores with a robust z-score on the same window.
	ModeStatistical = "statistical"
)

// Directions of anomalies (statistical mode).
const (
	DirectionUp   = "up"
	DirectionBoth = "both"
)

// Metric types that can be selected.
const (
	TypeGauge                = "gauge"
	TypeSum                  = "sum"
	TypeHistogram            = "histogram"
	TypeExponentialHistogram = "exponential_histogram"
)

// Default thresholds per mode, used when `threshold` is 0.
const (
	// Both chosen by the best event-level F1 on the validation split
	// (latencyeval -sweep; docs/benchmarks/anomaly.md), never on the
	// held-out set. The default model's score is a probability of an
	// incident.
	defaultModelThreshold = 0.8
	// erf(z/sqrt2) for z = 5: a one-sided robust z-score of 5.
	defaultStatisticalThreshold = 0.9999994
)

// Config is the tf_anomaly processor's configuration.
type Config struct {
	// Mode is `model` (TensorFlow Lite model; the default) or `statistical`
	// (robust z-score of the point against its window).
	Mode string `mapstructure:"mode"`
	// ModelPath is a .tflite file following the model contract (README). Empty
	// uses the default model embedded in the binary.
	ModelPath string `mapstructure:"model_path"`
	// ModelReloadInterval is how often model_path is checked for changes; a
	// changed file is validated before it replaces the running model. 0
	// disables reloading.
	ModelReloadInterval time.Duration `mapstructure:"model_reload_interval"`

	// Include selects the metrics to score.
	Include IncludeConfig `mapstructure:"include"`
	// SeriesAttributes are the attribute keys (data point first, then
	// resource) that, with the metric name, identify a series. Empty uses all
	// data point and resource attributes.
	SeriesAttributes []string `mapstructure:"series_attributes"`
	// HistogramStatistic is the value scored for histogram points: `mean` or a
	// quantile `pNN` (p50, p90, p99, p99.9) estimated from the buckets of the
	// interval (cumulative histograms are differenced per series).
	HistogramStatistic string `mapstructure:"histogram_statistic"`

	// WindowSize is the number of points per series window (W). In model mode
	// it must equal the model's window.
	WindowSize int `mapstructure:"window_size"`
	// MinPoints is the warm-up: points of a series before it is scored.
	MinPoints int `mapstructure:"min_points"`
	// MaxSeries bounds the tracked series; points of new series beyond it are
	// passed through unscored and counted.
	MaxSeries int `mapstructure:"max_series"`
	// SeriesTTL forgets series idle for longer.
	SeriesTTL time.Duration `mapstructure:"series_ttl"`
	// MaxGap restarts a series' window (and its warm-up) when two consecutive
	// points are further apart: context older than that says little.
	MaxGap time.Duration `mapstructure:"max_gap"`
	// BatchSize is the number of windows scored per model invocation.
	BatchSize int `mapstructure:"batch_size"`

	// Threshold is the score (0..1) at or above which a point counts as
	// anomalous. 0 uses the mode's default: 0.8 for model mode (the default
	// model's score is a probability), 0.9999994 for statistical mode (a
	// robust z-score of 5).
	Threshold float64 `mapstructure:"threshold"`
	// Trigger flags a series when `points` of the last `of` scored points were
	// anomalous.
	Trigger TriggerConfig `mapstructure:"trigger"`
	// RecoveryPoints clears the flag after this many consecutive points below
	// the threshold.
	RecoveryPoints int `mapstructure:"recovery_points"`
	// Direction is `up` (latency increases; default) or `both`. Statistical
	// mode only: a model decides its own direction.
	Direction string `mapstructure:"direction"`

	// Attributes names the attributes written onto scored points.
	Attributes AttributeNames `mapstructure:"attributes"`
	// ScoreMetric optionally emits the score as a separate gauge.
	ScoreMetric ScoreMetricConfig `mapstructure:"score_metric"`
}

// IncludeConfig selects metrics.
type IncludeConfig struct {
	// MetricNames are regular expressions; a metric whose name matches any is
	// scored. Empty selects every metric of the selected types.
	MetricNames []string `mapstructure:"metric_names"`
	// Types are the metric types scored: gauge, sum, histogram,
	// exponential_histogram.
	Types []string `mapstructure:"types"`
}

// TriggerConfig is an N-of-M trigger.
type TriggerConfig struct {
	// Points (N) anomalous points ...
	Points int `mapstructure:"points"`
	// Of (M) the last scored points, M <= 16.
	Of int `mapstructure:"of"`
}

// AttributeNames are the names of the attributes written onto scored points.
type AttributeNames struct {
	Score    string `mapstructure:"score"`
	Flag     string `mapstructure:"flag"`
	Expected string `mapstructure:"expected"`
	Model    string `mapstructure:"model"`
}

// ScoreMetricConfig configures the optional score gauge.
type ScoreMetricConfig struct {
	// Enabled adds, per scope, a gauge with one point per scored point: the
	// score, with the scored point's attributes and timestamp plus
	// `metric.name`.
	Enabled bool `mapstructure:"enabled"`
	// Name of the gauge.
	Name string `mapstructure:"name"`
}

func createDefaultConfig() *Config {
	return &Config{
		Mode:                ModeModel,
		ModelReloadInterval: 30 * time.Second,
		Include: IncludeConfig{
			MetricNames: []string{`(?i)(duration|latency)`},
			Types:       []string{TypeGauge, TypeSum, TypeHistogram, TypeExponentialHistogram},
		},
		HistogramStatistic: "p99",
		WindowSize:         64,
		MinPoints:          64,
		MaxSeries:          100000,
		SeriesTTL:          15 * time.Minute,
		MaxGap:             time.Hour,
		BatchSize:          256,
		Trigger:            TriggerConfig{Points: 2, Of: 3},
		RecoveryPoints:     3,
		Direction:          DirectionUp,
		Attributes: AttributeNames{
			Score:    "latencywatch.anomaly.score",
			Flag:     "latencywatch.anomaly.flag",
			Expected: "latencywatch.anomaly.expected",
			Model:    "latencywatch.anomaly.model",
		},
		ScoreMetric: ScoreMetricConfig{Name: "latencywatch.anomaly.score"},
	}
}

// Validate checks the configuration without I/O; the model file is read and
// checked against the window in Start.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	switch c.Mode {
	case ModeModel, ModeStatistical:
	default:
		add("mode: %q is not one of %q, %q", c.Mode, ModeModel, ModeStatistical)
	}
	if c.ModelPath != "" && c.Mode == ModeStatistical {
		add("model_path: set, but mode is %q (the model would never be used)", ModeStatistical)
	}
	if c.ModelReloadInterval < 0 {
		add("model_reload_interval: must not be negative, got %s", c.ModelReloadInterval)
	}
	for i, p := range c.Include.MetricNames {
		if _, err := regexp.Compile(p); err != nil {
			add("include.metric_names[%d]: %w", i, err)
		}
	}
	if len(c.Include.Types) == 0 {
		add("include.types: select at least one of %s, %s, %s, %s", TypeGauge, TypeSum, TypeHistogram, TypeExponentialHistogram)
	}
	for i, t := range c.Include.Types {
		switch t {
		case TypeGauge, TypeSum, TypeHistogram, TypeExponentialHistogram:
		default:
			add("include.types[%d]: %q is not one of %s, %s, %s, %s", i, t, TypeGauge, TypeSum, TypeHistogram, TypeExponentialHistogram)
		}
	}
	for i, a := range c.SeriesAttributes {
		if a == "" {
			add("series_attributes[%d]: empty attribute key", i)
		}
	}
	if _, err := parseStatistic(c.HistogramStatistic); err != nil {
		add("histogram_statistic: %w", err)
	}
	if c.WindowSize < 8 || c.WindowSize > 1024 {
		add("window_size: must be within 8..1024, got %d", c.WindowSize)
	}
	if c.MinPoints < 2 || c.MinPoints > c.WindowSize {
		add("min_points: must be within 2..window_size (%d), got %d", c.WindowSize, c.MinPoints)
	}
	if c.MaxSeries < 1 {
		add("max_series: must be at least 1, got %d", c.MaxSeries)
	}
	if c.SeriesTTL <= 0 {
		add("series_ttl: must be positive, got %s", c.SeriesTTL)
	}
	if c.MaxGap <= 0 {
		add("max_gap: must be positive, got %s", c.MaxGap)
	}
	if c.BatchSize < 1 || c.BatchSize > 4096 {
		add("batch_size: must be within 1..4096, got %d", c.BatchSize)
	}
	if c.Threshold < 0 || c.Threshold > 1 {
		add("threshold: must be within 0..1 (0 = the mode's default), got %v", c.Threshold)
	}
	if c.Trigger.Of < 1 || c.Trigger.Of > 16 {
		add("trigger.of: must be within 1..16, got %d", c.Trigger.Of)
	}
	if c.Trigger.Points < 1 || c.Trigger.Points > c.Trigger.Of {
		add("trigger.points: must be within 1..trigger.of (%d), got %d", c.Trigger.Of, c.Trigger.Points)
	}
	if c.RecoveryPoints < 1 || c.RecoveryPoints > 255 {
		add("recovery_points: must be within 1..255, got %d", c.RecoveryPoints)
	}
	switch c.Direction {
	case DirectionUp:
	case DirectionBoth:
		if c.Mode == ModeModel {
			add("direction: %q applies to statistical mode only; a model decides its own direction", DirectionBoth)
		}
	default:
		add("direction: %q is not one of %q, %q", c.Direction, DirectionUp, DirectionBoth)
	}
	names := map[string]string{}
	for path, v := range map[string]string{
		"attributes.score": c.Attributes.Score, "attributes.flag": c.Attributes.Flag,
		"attributes.expected": c.Attributes.Expected, "attributes.model": c.Attributes.Model,
	} {
		if v == "" {
			add("%s: must not be empty", path)
			continue
		}
		if other, dup := names[v]; dup {
			a, b := path, other
			if b < a {
				a, b = b, a
			}
			add("%s: %q is also used by %s", b, v, a)
		}
		names[v] = path
	}
	if c.ScoreMetric.Enabled && c.ScoreMetric.Name == "" {
		add("score_metric.name: must not be empty when score_metric.enabled")
	}
	return errors.Join(errs...)
}

// threshold is the effective threshold of the mode.
func (c *Config) threshold() float64 {
	if c.Threshold > 0 {
		return c.Threshold
	}
	if c.Mode == ModeStatistical {
		return defaultStatisticalThreshold
	}
	return defaultModelThreshold
}

// statistic is a parsed histogram_statistic: quantile < 0 means the mean.
type statistic struct{ quantile float64 }

func parseStatistic(s string) (statistic, error) {
	if s == "mean" {
		return statistic{quantile: -1}, nil
	}
	if strings.HasPrefix(s, "p") {
		if v, err := strconv.ParseFloat(s[1:], 64); err == nil && v > 0 && v < 100 {
			return statistic{quantile: v / 100}, nil
		}
	}
	return statistic{}, fmt.Errorf("%q is not `mean` or a quantile p0<NN<100 such as p99 or p99.9", s)
}
