package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// series is one CSV file: its points in time order and its label windows.
type series struct {
	rel     string   // path relative to the data directory, with '/'
	stamps  []string // timestamps as written in the file
	times   []time.Time
	values  []float64
	windows [][2]time.Time
}

type dataset struct{ files []*series }

func (d *dataset) points() int {
	n := 0
	for _, f := range d.files {
		n += len(f.values)
	}
	return n
}

func (d *dataset) windows() int {
	n := 0
	for _, f := range d.files {
		n += len(f.windows)
	}
	return n
}

var layouts = []string{
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05",
	"2006-01-02T15:04:05.999999999", // RFC 3339 without a zone: UTC
}

// parseTime accepts RFC 3339 and `YYYY-MM-DD HH:MM:SS[.fraction]` (UTC).
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("timestamp %q is neither RFC 3339 nor YYYY-MM-DD HH:MM:SS[.fraction]", s)
}

func loadDataset(dir, labelsPath string) (*dataset, error) {
	raw, err := os.ReadFile(labelsPath)
	if err != nil {
		return nil, fmt.Errorf("labels: %w", err)
	}
	var labels map[string][][2]string
	if err := json.Unmarshal(raw, &labels); err != nil {
		return nil, fmt.Errorf("labels %s: %w", labelsPath, err)
	}
	d := &dataset{}
	err = filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || !strings.EqualFold(filepath.Ext(path), ".csv") {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		s, err := readCSV(path)
		if err != nil {
			return err
		}
		s.rel = filepath.ToSlash(rel)
		for i, w := range labels[s.rel] {
			a, err := parseTime(w[0])
			if err != nil {
				return fmt.Errorf("labels %s[%d]: %w", s.rel, i, err)
			}
			b, err := parseTime(w[1])
			if err != nil {
				return fmt.Errorf("labels %s[%d]: %w", s.rel, i, err)
			}
			if b.Before(a) {
				return fmt.Errorf("labels %s[%d]: end %s before start %s", s.rel, i, w[1], w[0])
			}
			s.windows = append(s.windows, [2]time.Time{a, b})
		}
		d.files = append(d.files, s)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(d.files) == 0 {
		return nil, fmt.Errorf("no .csv files under %s", dir)
	}
	known := map[string]bool{}
	for _, f := range d.files {
		known[f.rel] = true
	}
	for rel := range labels {
		if !known[rel] {
			return nil, fmt.Errorf("labels %s: no such file under %s", rel, dir)
		}
	}
	sort.Slice(d.files, func(i, j int) bool { return d.files[i].rel < d.files[j].rel })
	return d, nil
}

// readCSV reads `timestamp,value` rows (a header row is skipped) and orders
// them by time, keeping the file order of equal timestamps.
func readCSV(path string) (*series, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := &series{}
	sc := bufio.NewScanner(f)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		ts, val, ok := strings.Cut(text, ",")
		if !ok {
			return nil, fmt.Errorf("%s:%d: want timestamp,value", path, line)
		}
		t, err := parseTime(ts)
		if err != nil {
			if line == 1 {
				continue // header
			}
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: value %q: %w", path, line, val, err)
		}
		s.stamps = append(s.stamps, strings.TrimSpace(ts))
		s.times = append(s.times, t)
		s.values = append(s.values, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	idx := make([]int, len(s.times))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return s.times[idx[a]].Before(s.times[idx[b]]) })
	out := &series{stamps: make([]string, len(idx)), times: make([]time.Time, len(idx)), values: make([]float64, len(idx))}
	for i, j := range idx {
		out.stamps[i], out.times[i], out.values[i] = s.stamps[j], s.times[j], s.values[j]
	}
	return out, nil
}

// label reports whether t is inside one of the series' windows.
func (s *series) label(t time.Time) bool {
	for _, w := range s.windows {
		if !t.Before(w[0]) && !t.After(w[1]) {
			return true
		}
	}
	return false
}
