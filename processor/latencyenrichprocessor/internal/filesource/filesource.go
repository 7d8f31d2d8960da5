// Package filesource loads the latency_enrich metadata table from a YAML, JSON
// or CSV file and reloads it when the file changes. A file that cannot be read
// or parsed never replaces the table: the last good table stays in place.
package filesource

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/latencywatch/latencywatch/processor/latencyenrichprocessor/internal/metadatatable"
)

// Formats a file may have.
const (
	FormatYAML = "yaml"
	FormatJSON = "json"
	FormatCSV  = "csv"
)

// Config is the `file` table source.
type Config struct {
	// Path of the table file.
	Path string `mapstructure:"path"`
	// Format is yaml, json or csv; empty means from the file extension
	// (.yaml/.yml, .json, .csv).
	Format string `mapstructure:"format"`
	// KeyColumn names the column holding the lookup key in CSV files and in
	// YAML/JSON files that are a list of rows. YAML/JSON files may instead be
	// an object mapping each key to its row.
	KeyColumn string `mapstructure:"key_column"`
	// ReloadInterval is how often the file is checked for changes; 0 turns
	// reloading off.
	ReloadInterval time.Duration `mapstructure:"reload_interval"`
}

// Validate checks the config without touching the file system. path is the
// YAML path of this section, used in error messages.
func (c *Config) Validate(path string) error {
	var errs error
	if c.Path == "" {
		errs = errors.Join(errs, fmt.Errorf("%s.path: must be set", path))
	}
	if c.Format != "" && c.Format != FormatYAML && c.Format != FormatJSON && c.Format != FormatCSV {
		errs = errors.Join(errs, fmt.Errorf("%s.format: %q is not one of yaml, json, csv", path, c.Format))
	}
	if c.Path != "" && c.Format == "" && formatOf(c.Path) == "" {
		errs = errors.Join(errs, fmt.Errorf("%s.format: cannot tell the format of %q from its extension; set yaml, json or csv", path, c.Path))
	}
	if c.KeyColumn == "" {
		errs = errors.Join(errs, fmt.Errorf("%s.key_column: must not be empty", path))
	}
	if c.ReloadInterval < 0 {
		errs = errors.Join(errs, fmt.Errorf("%s.reload_interval: must not be negative", path))
	}
	return errs
}

func formatOf(path string) string {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".yaml", ".yml":
		return FormatYAML
	case ".json":
		return FormatJSON
	case ".csv":
		return FormatCSV
	}
	return ""
}

// Source is the file table source.
type Source struct {
	cfg    Config
	format string
	table  *metadatatable.Table
	// onReload is called after every load attempt; err is nil on success.
	onReload func(err error)

	mu       sync.Mutex // protects lastStat, lastHash, cancel
	lastStat fileStamp
	lastHash string
	cancel   context.CancelFunc
	done     chan struct{}
}

type fileStamp struct {
	mod  time.Time
	size int64
}

// New returns a file source writing to table. onReload may be nil.
func New(cfg Config, table *metadatatable.Table, onReload func(error)) *Source {
	format := cfg.Format
	if format == "" {
		format = formatOf(cfg.Path)
	}
	if onReload == nil {
		onReload = func(error) {}
	}
	return &Source{cfg: cfg, format: format, table: table, onReload: onReload}
}

// Start loads the file once, synchronously: a table file that is missing or
// invalid at start is a configuration error. Then it watches for changes.
func (s *Source) Start(context.Context) error {
	if err := s.reload(true); err != nil {
		return err
	}
	s.table.MarkReady()
	if s.cfg.ReloadInterval <= 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	s.cancel = cancel
	s.done = make(chan struct{})
	done := s.done
	s.mu.Unlock()
	go s.watch(ctx, done)
	return nil
}

func (s *Source) watch(ctx context.Context, done chan struct{}) {
	defer close(done)
	tick := time.NewTicker(s.cfg.ReloadInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			_ = s.reload(false)
		}
	}
}

// reload reads the file when its size or modification time changed (or when
// force is set) and, if its content changed and parses, replaces the table.
func (s *Source) reload(force bool) error {
	fi, err := os.Stat(s.cfg.Path)
	if err != nil {
		err = fmt.Errorf("metadata table file: %w", err)
		if force {
			s.onReload(err)
			return err
		}
		s.mu.Lock()
		failedBefore := s.lastStat == (fileStamp{})
		s.lastStat = fileStamp{}
		s.mu.Unlock()
		if !failedBefore {
			s.onReload(err)
		}
		return err
	}
	stamp := fileStamp{mod: fi.ModTime(), size: fi.Size()}
	s.mu.Lock()
	unchanged := !force && stamp == s.lastStat
	s.mu.Unlock()
	if unchanged {
		return nil
	}
	data, err := os.ReadFile(s.cfg.Path)
	if err != nil {
		err = fmt.Errorf("metadata table file: %w", err)
		s.remember(stamp, "")
		s.onReload(err)
		return err
	}
	sum := sha256.Sum256(data)
	hash := hex.EncodeToString(sum[:6])
	s.mu.Lock()
	sameContent := !force && hash == s.lastHash
	s.mu.Unlock()
	if sameContent {
		s.remember(stamp, hash)
		return nil
	}
	rows, err := Parse(data, s.format, s.cfg.KeyColumn, "file:"+hash, s.table.Reject)
	if err != nil {
		err = fmt.Errorf("metadata table file %s: %w (keeping the last good table)", s.cfg.Path, err)
		// Remember the stamp so a bad file is reported once, not every tick,
		// and the hash of the last good content stays.
		s.mu.Lock()
		s.lastStat = stamp
		s.mu.Unlock()
		s.onReload(err)
		return err
	}
	s.table.Replace(rows)
	s.remember(stamp, hash)
	s.onReload(nil)
	return nil
}

func (s *Source) remember(stamp fileStamp, hash string) {
	s.mu.Lock()
	s.lastStat = stamp
	if hash != "" {
		s.lastHash = hash
	}
	s.mu.Unlock()
}

// Shutdown stops watching. Idempotent and safe before Start.
func (s *Source) Shutdown(context.Context) error {
	s.mu.Lock()
	cancel, done := s.cancel, s.done
	s.cancel = nil
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	return nil
}

// Parse decodes a whole table file. It fails only when the file as a whole is
// unusable (syntax error, wrong shape); single bad rows are passed to reject
// and skipped. Rows without metadata_version get defaultVersion.
func Parse(data []byte, format, keyColumn, defaultVersion string, reject func(error)) ([]metadatatable.Row, error) {
	var objs []keyedObject
	var err error
	switch format {
	case FormatYAML:
		var doc any
		if err = yaml.Unmarshal(data, &doc); err != nil {
			return nil, fmt.Errorf("not valid YAML: %w", err)
		}
		objs, err = shape(doc, keyColumn)
	case FormatJSON:
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var doc any
		if err = dec.Decode(&doc); err != nil {
			return nil, fmt.Errorf("not valid JSON: %w", err)
		}
		objs, err = shape(doc, keyColumn)
	case FormatCSV:
		objs, err = csvObjects(data, keyColumn)
	default:
		return nil, fmt.Errorf("unknown format %q", format)
	}
	if err != nil {
		return nil, err
	}
	rows := make([]metadatatable.Row, 0, len(objs))
	for _, o := range objs {
		r, err := metadatatable.FromMap(o.key, o.obj)
		if err != nil {
			reject(err)
			continue
		}
		if r.Version == "" {
			r.Version = defaultVersion
		}
		rows = append(rows, r)
	}
	return rows, nil
}

type keyedObject struct {
	key string
	obj map[string]any
}

// shape turns a decoded YAML/JSON document into keyed objects. An entry that
// is not an object is passed on as notARow so that FromMap rejects it as
// wrong_type under its key, like any other bad row.
func shape(doc any, keyColumn string) ([]keyedObject, error) {
	switch d := doc.(type) {
	case map[string]any:
		out := make([]keyedObject, 0, len(d))
		for k, v := range d {
			obj, ok := v.(map[string]any)
			if !ok {
				obj = notARow(v)
			}
			out = append(out, keyedObject{key: k, obj: obj})
		}
		return out, nil
	case []any:
		out := make([]keyedObject, 0, len(d))
		for i, v := range d {
			obj, ok := v.(map[string]any)
			if !ok {
				out = append(out, keyedObject{key: fmt.Sprintf("(row %d)", i), obj: notARow(v)})
				continue
			}
			key, _ := obj[keyColumn].(string)
			rest := make(map[string]any, len(obj))
			for c, cv := range obj {
				if c != keyColumn {
					rest[c] = cv
				}
			}
			out = append(out, keyedObject{key: key, obj: rest})
		}
		return out, nil
	case nil:
		return nil, nil
	}
	return nil, fmt.Errorf("top level must be an object (key -> row) or a list of rows, got %T", doc)
}

func notARow(v any) map[string]any { return map[string]any{"(row)": []any{v}} }

func csvObjects(data []byte, keyColumn string) ([]keyedObject, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = 0
	header, err := r.Read()
	if err == io.EOF {
		return nil, errors.New("CSV file is empty: it needs a header row")
	}
	if err != nil {
		return nil, fmt.Errorf("not valid CSV: %w", err)
	}
	keyIdx := -1
	for i, h := range header {
		if h == keyColumn {
			keyIdx = i
		}
	}
	if keyIdx < 0 {
		return nil, fmt.Errorf("CSV header has no key column %q", keyColumn)
	}
	var out []keyedObject
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("not valid CSV: %w", err)
		}
		obj := make(map[string]any, len(rec)-1)
		for i, v := range rec {
			// An empty cell means "no value", so defaults apply.
			if i != keyIdx && v != "" {
				obj[header[i]] = v
			}
		}
		out = append(out, keyedObject{key: rec[keyIdx], obj: obj})
	}
}
