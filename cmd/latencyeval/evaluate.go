package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// modeResult is the detection quality of one mode on the whole set.
//
//   - An alarm is a maximal run of consecutive flagged points of a file.
//   - A window is detected when one of its points is flagged; window recall
//     = detected / windows (this is also the event-level recall).
//   - A false alarm is an alarm that overlaps no window; reported per 1,000
//     points.
//   - Event-level precision = alarms overlapping a window / alarms.
//   - Detection delay = time (and points) from a detected window's start to
//     its first flagged point.
type modeResult struct {
	Mode               string  `json:"mode"`
	Model              string  `json:"model"`
	PointsScored       int     `json:"points_scored"`
	Windows            int     `json:"windows"`
	WindowsDetected    int     `json:"windows_detected"`
	WindowRecall       float64 `json:"window_recall"`
	Alarms             int     `json:"alarms"`
	FalseAlarms        int     `json:"false_alarms"`
	FalseAlarmsPer1000 float64 `json:"false_alarms_per_1000_points"`
	DelayMedianSeconds float64 `json:"detection_delay_median_seconds"`
	DelayMeanSeconds   float64 `json:"detection_delay_mean_seconds"`
	DelayMedianPoints  float64 `json:"detection_delay_median_points"`
	Precision          float64 `json:"event_precision"`
	Recall             float64 `json:"event_recall"`
	F1                 float64 `json:"event_f1"`
}

func evaluate(set *dataset, results [][]pointResult) modeResult {
	var r modeResult
	var delays, delayPts []float64
	points := 0
	trueAlarms := 0
	for i, s := range set.files {
		res := results[i]
		points += len(res)
		for _, p := range res {
			if p.scored {
				r.PointsScored++
			}
		}
		// Alarms and whether each overlaps a window.
		for k := 0; k < len(res); {
			if !res[k].flag {
				k++
				continue
			}
			j := k
			for j+1 < len(res) && res[j+1].flag {
				j++
			}
			r.Alarms++
			start, end := s.times[k], s.times[j]
			hit := false
			for _, w := range s.windows {
				if !end.Before(w[0]) && !start.After(w[1]) {
					hit = true
					break
				}
			}
			if hit {
				trueAlarms++
			} else {
				r.FalseAlarms++
			}
			k = j + 1
		}
		for _, w := range s.windows {
			r.Windows++
			first := sort.Search(len(s.times), func(k int) bool { return !s.times[k].Before(w[0]) })
			for k := first; k < len(s.times) && !s.times[k].After(w[1]); k++ {
				if res[k].flag {
					r.WindowsDetected++
					delays = append(delays, s.times[k].Sub(w[0]).Seconds())
					delayPts = append(delayPts, float64(k-first))
					break
				}
			}
		}
	}
	if r.Windows > 0 {
		r.WindowRecall = float64(r.WindowsDetected) / float64(r.Windows)
	}
	r.Recall = r.WindowRecall
	if r.Alarms > 0 {
		r.Precision = float64(trueAlarms) / float64(r.Alarms)
	}
	if r.Precision+r.Recall > 0 {
		r.F1 = 2 * r.Precision * r.Recall / (r.Precision + r.Recall)
	}
	if points > 0 {
		r.FalseAlarmsPer1000 = 1000 * float64(r.FalseAlarms) / float64(points)
	}
	r.DelayMedianSeconds, r.DelayMeanSeconds = median(delays), mean(delays)
	r.DelayMedianPoints = median(delayPts)
	return r
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	t := 0.0
	for _, x := range v {
		t += x
	}
	return t / float64(len(v))
}

// writeScored writes OUT/<rel> CSVs: timestamp,value,anomaly_score,label.
func writeScored(out string, set *dataset, results [][]pointResult) error {
	for i, s := range set.files {
		path := filepath.Join(out, filepath.FromSlash(s.rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		w := bufio.NewWriter(f)
		fmt.Fprintln(w, "timestamp,value,anomaly_score,label")
		for k := range s.values {
			lab := 0
			if s.label(s.times[k]) {
				lab = 1
			}
			fmt.Fprintf(w, "%s,%s,%s,%d\n", s.stamps[k], strconv.FormatFloat(s.values[k], 'g', -1, 64),
				strconv.FormatFloat(results[i][k].score, 'f', 6, 64), lab)
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

func markdownSummary(files, points, windows int, results []modeResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d files, %d points, %d labelled windows\n\n", files, points, windows)
	b.WriteString("| metric |")
	for _, r := range results {
		fmt.Fprintf(&b, " %s (`%s`) |", r.Mode, r.Model)
	}
	b.WriteString("\n|---|")
	for range results {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	row := func(name string, f func(modeResult) string) {
		fmt.Fprintf(&b, "| %s |", name)
		for _, r := range results {
			fmt.Fprintf(&b, " %s |", f(r))
		}
		b.WriteString("\n")
	}
	row("window recall", func(r modeResult) string {
		return fmt.Sprintf("%.3f (%d/%d)", r.WindowRecall, r.WindowsDetected, r.Windows)
	})
	row("false alarms / 1,000 points", func(r modeResult) string {
		return fmt.Sprintf("%.3f (%d)", r.FalseAlarmsPer1000, r.FalseAlarms)
	})
	row("detection delay, median (mean)", func(r modeResult) string {
		return fmt.Sprintf("%.0f s (%.0f s), %.0f points", r.DelayMedianSeconds, r.DelayMeanSeconds, r.DelayMedianPoints)
	})
	row("event precision", func(r modeResult) string { return fmt.Sprintf("%.3f (%d alarms)", r.Precision, r.Alarms) })
	row("event recall", func(r modeResult) string { return fmt.Sprintf("%.3f", r.Recall) })
	row("event F1", func(r modeResult) string { return fmt.Sprintf("**%.3f**", r.F1) })
	row("points scored", func(r modeResult) string { return strconv.Itoa(r.PointsScored) })
	return b.String()
}
