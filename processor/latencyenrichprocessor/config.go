package latencyenrichprocessor

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"go.opentelemetry.io/collector/config/configoptional"

	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/filesource"
	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/kafkasource"
	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/metadatatable"
	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/pulsarsource"
)

// Where key parts are read from and where attributes are written.
const (
	ContextResource = "resource"
	ContextRecord   = "record"
)

// How a copied attribute treats an attribute that is already there.
const (
	ActionInsert = "insert" // only when absent
	ActionUpdate = "update" // only when present
	ActionUpsert = "upsert" // always
)

// Attribute names of the DESIGN.md contract.
const (
	AttrMetadataVersion = "latencywatch.metadata.version"
	AttrMetadataAge     = "latencywatch.metadata.age"
	AttrSLOBreach       = "latencywatch.slo.breach"
)

// Config is the latency_enrich processor configuration.
type Config struct {
	// Keys are the ordered key rules: the first rule whose attributes are all
	// present builds the lookup key.
	Keys []KeyRule `mapstructure:"keys"`
	// KeySeparator joins the parts of a composite key. Table keys must be
	// written with the same separator.
	KeySeparator string `mapstructure:"key_separator"`
	// Target is where attributes are written: resource or record (span, data
	// point, log record). A resource target needs resource-only keys.
	Target string `mapstructure:"target"`
	// Action is insert, update or upsert.
	Action string `mapstructure:"action"`
	// Attributes is the allow-list of row columns copied onto telemetry.
	Attributes []AttributeConfig `mapstructure:"attributes"`
	// Table is the metadata table source; exactly one must be set.
	Table TableConfig `mapstructure:"table"`
	// MaxRowBytes rejects Kafka/Pulsar row values larger than this.
	MaxRowBytes int `mapstructure:"max_row_bytes"`
	// WaitForReady blocks Start until the table source finished its initial
	// load, failing Start after WaitForReadyTimeout.
	WaitForReady bool `mapstructure:"wait_for_ready"`
	// WaitForReadyTimeout bounds WaitForReady.
	WaitForReadyTimeout time.Duration `mapstructure:"wait_for_ready_timeout"`
	// MetadataAttributes writes latencywatch.metadata.age / .version.
	MetadataAttributes MetadataAttributesConfig `mapstructure:"metadata_attributes"`
	// SLO checks span durations against a threshold column of the row.
	SLO SLOConfig `mapstructure:"slo"`
	// Metrics configures latency metric handling.
	Metrics MetricsConfig `mapstructure:"metrics"`
}

// KeyRule is one way to build the lookup key.
type KeyRule struct {
	// Attributes are joined, in order, with key_separator.
	Attributes []KeyPart `mapstructure:"attributes"`
}

// KeyPart is one attribute of a composite key.
type KeyPart struct {
	// From is resource or record.
	From string `mapstructure:"from"`
	// Attribute is the attribute name.
	Attribute string `mapstructure:"attribute"`
}

// AttributeConfig copies one row column.
type AttributeConfig struct {
	// Column is the row column.
	Column string `mapstructure:"column"`
	// Name is the attribute written; defaults to the OpenTelemetry semantic
	// convention name for well-known columns (see README), else the column.
	Name string `mapstructure:"name"`
	// Default is written when no row matched or the row lacks the column
	// (string, number or bool). Unset means nothing is written then.
	Default any `mapstructure:"default"`
}

// TableConfig selects the table source.
type TableConfig struct {
	Inline configoptional.Optional[InlineConfig]        `mapstructure:"inline"`
	File   configoptional.Optional[filesource.Config]   `mapstructure:"file"`
	Kafka  configoptional.Optional[kafkasource.Config]  `mapstructure:"kafka"`
	Pulsar configoptional.Optional[pulsarsource.Config] `mapstructure:"pulsar"`
}

// InlineConfig is a table written in the collector config.
type InlineConfig struct {
	Rows []InlineRow `mapstructure:"rows"`
}

// InlineRow is one inline table row.
type InlineRow struct {
	Key    string         `mapstructure:"key"`
	Values map[string]any `mapstructure:"values"`
}

// MetadataAttributesConfig turns on the metadata attributes.
type MetadataAttributesConfig struct {
	// Age writes latencywatch.metadata.age (seconds since the row's updated_at).
	Age bool `mapstructure:"age"`
	// Version writes latencywatch.metadata.version.
	Version bool `mapstructure:"version"`
}

// SLOConfig is the span SLO check.
type SLOConfig struct {
	// ThresholdColumn is the row column holding the span duration SLO in
	// seconds; empty turns the check off. Spans whose row has the column get
	// latencywatch.slo.breach = duration > threshold.
	ThresholdColumn string `mapstructure:"threshold_column"`
}

// MetricsConfig is latency metric handling.
type MetricsConfig struct {
	// LatencyNamePattern is a regular expression selecting latency metrics by
	// name.
	LatencyNamePattern string `mapstructure:"latency_name_pattern"`
	// NormalizeUnits converts latency metrics in ms, us and ns to seconds
	// (values and histogram bounds) and sets their unit to "s".
	NormalizeUnits bool `mapstructure:"normalize_units"`
	// Quantiles, e.g. [0.5, 0.95, 0.99], adds one gauge per quantile and
	// latency histogram, named <metric>.p50 etc., estimated per interval.
	Quantiles []float64 `mapstructure:"quantiles"`
	// MaxSeries bounds the cumulative histogram series remembered to compute
	// per-interval quantiles.
	MaxSeries int `mapstructure:"max_series"`
	// SeriesTTL forgets a cumulative series not seen for this long.
	SeriesTTL time.Duration `mapstructure:"series_ttl"`
}

// Validate checks the configuration without I/O.
func (c *Config) Validate() error {
	var errs error
	if len(c.Keys) == 0 {
		errs = errors.Join(errs, errors.New("keys: at least one key rule is required"))
	}
	for i, k := range c.Keys {
		if len(k.Attributes) == 0 {
			errs = errors.Join(errs, fmt.Errorf("keys[%d].attributes: must not be empty", i))
		}
		for j, p := range k.Attributes {
			if p.From != ContextResource && p.From != ContextRecord {
				errs = errors.Join(errs, fmt.Errorf("keys[%d].attributes[%d].from: %q is not resource or record", i, j, p.From))
			}
			if p.Attribute == "" {
				errs = errors.Join(errs, fmt.Errorf("keys[%d].attributes[%d].attribute: must be set", i, j))
			}
			if p.From == ContextRecord && c.Target == ContextResource {
				errs = errors.Join(errs, fmt.Errorf("keys[%d].attributes[%d].from: a record attribute cannot key a resource target (target: resource)", i, j))
			}
		}
	}
	if c.Target != ContextResource && c.Target != ContextRecord {
		errs = errors.Join(errs, fmt.Errorf("target: %q is not resource or record", c.Target))
	}
	if c.Action != ActionInsert && c.Action != ActionUpdate && c.Action != ActionUpsert {
		errs = errors.Join(errs, fmt.Errorf("action: %q is not insert, update or upsert", c.Action))
	}
	names := map[string]int{}
	for i, a := range c.Attributes {
		if a.Column == "" {
			errs = errors.Join(errs, fmt.Errorf("attributes[%d].column: must be set", i))
		}
		if a.Column == metadatatable.ColumnUpdatedAt || a.Column == metadatatable.ColumnVersion {
			errs = errors.Join(errs, fmt.Errorf("attributes[%d].column: %q is reserved; use metadata_attributes", i, a.Column))
		}
		name := a.outputName()
		if j, dup := names[name]; dup {
			errs = errors.Join(errs, fmt.Errorf("attributes[%d].name: %q is already written by attributes[%d]", i, name, j))
		}
		names[name] = i
		if a.Default != nil {
			if _, err := defaultValue(a.Default); err != nil {
				errs = errors.Join(errs, fmt.Errorf("attributes[%d].default: %w", i, err))
			}
		}
	}
	if len(c.Attributes) == 0 && c.SLO.ThresholdColumn == "" && !c.MetadataAttributes.Age && !c.MetadataAttributes.Version {
		errs = errors.Join(errs, errors.New("attributes: at least one attribute (or slo.threshold_column, or metadata_attributes) is required"))
	}
	errs = errors.Join(errs, c.validateTable())
	if c.MaxRowBytes <= 0 {
		errs = errors.Join(errs, errors.New("max_row_bytes: must be positive"))
	}
	if c.WaitForReadyTimeout <= 0 {
		errs = errors.Join(errs, errors.New("wait_for_ready_timeout: must be positive"))
	}
	if _, err := regexp.Compile(c.Metrics.LatencyNamePattern); err != nil {
		errs = errors.Join(errs, fmt.Errorf("metrics.latency_name_pattern: %w", err))
	}
	for i, q := range c.Metrics.Quantiles {
		if !(q > 0 && q < 1) {
			errs = errors.Join(errs, fmt.Errorf("metrics.quantiles[%d]: %v is not strictly between 0 and 1", i, q))
		}
	}
	if len(c.Metrics.Quantiles) > 0 && c.Metrics.MaxSeries <= 0 {
		errs = errors.Join(errs, errors.New("metrics.max_series: must be positive when quantiles are set"))
	}
	if len(c.Metrics.Quantiles) > 0 && c.Metrics.SeriesTTL <= 0 {
		errs = errors.Join(errs, errors.New("metrics.series_ttl: must be positive when quantiles are set"))
	}
	return errs
}

func (c *Config) validateTable() error {
	var errs error
	n := 0
	if in := c.Table.Inline.Get(); in != nil {
		n++
		for i, r := range in.Rows {
			if r.Key == "" {
				errs = errors.Join(errs, fmt.Errorf("table.inline.rows[%d].key: must be set", i))
				continue
			}
			if _, err := metadatatable.FromMap(r.Key, r.Values); err != nil {
				errs = errors.Join(errs, fmt.Errorf("table.inline.rows[%d].values: %w", i, err))
			}
		}
	}
	if f := c.Table.File.Get(); f != nil {
		n++
		errs = errors.Join(errs, f.Validate("table.file"))
	}
	if k := c.Table.Kafka.Get(); k != nil {
		n++
		errs = errors.Join(errs, k.Validate("table.kafka"))
	}
	if p := c.Table.Pulsar.Get(); p != nil {
		n++
		errs = errors.Join(errs, p.Validate("table.pulsar"))
	}
	if n != 1 {
		errs = errors.Join(errs, fmt.Errorf("table: exactly one of inline, file, kafka, pulsar must be set, got %d", n))
	}
	return errs
}

// semconvNames are the default output names of well-known columns.
var semconvNames = map[string]string{
	"region":       "cloud.region",
	"zone":         "cloud.availability_zone",
	"node":         "k8s.node.name",
	"host":         "host.name",
	"version":      "service.version",
	"environment":  "deployment.environment.name",
	"namespace":    "service.namespace",
	"cluster":      "k8s.cluster.name",
	"cloud":        "cloud.provider",
	"account":      "cloud.account.id",
	"service":      "service.name",
	"team":         "latencywatch.owner.team",
	"owner":        "latencywatch.owner.team",
	"slo_p99":      "latencywatch.slo.p99",
	"tier":         "latencywatch.service.tier",
	"service_tier": "latencywatch.service.tier",
}

func (a AttributeConfig) outputName() string {
	if a.Name != "" {
		return a.Name
	}
	if n, ok := semconvNames[a.Column]; ok {
		return n
	}
	return a.Column
}

func defaultValue(raw any) (metadatatable.Value, error) {
	r, err := metadatatable.FromMap("default", map[string]any{"v": raw})
	if err != nil {
		return metadatatable.Value{}, fmt.Errorf("%v must be a string, number or bool", raw)
	}
	return r.Columns["v"], nil
}
