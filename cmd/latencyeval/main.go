// Command latencyeval scores a labelled set of latency series with the
// tf_anomaly processor — the same code the collector runs — in the TF model
// mode and the statistical baseline mode, and reports detection quality side
// by side.
//
//	latencyeval -data DIR -labels labels.json -out OUTDIR [flags]
//
// DIR holds CSV files (`timestamp,value`, timestamps RFC 3339 or
// `YYYY-MM-DD HH:MM:SS[.fff]`, UTC), possibly in sub-directories. labels.json
// maps each file's path relative to DIR to its anomaly windows
// `[[start, end], ...]`. Every file is streamed point by point in time order
// with no look-ahead; the files advance in lockstep so one ConsumeMetrics
// call carries the next point of every series (as a collector sees many
// series at once). For each mode OUTDIR/<mode>/ mirrors DIR with
// `timestamp,value,anomaly_score,label` CSVs, and OUTDIR/summary.{json,md}
// hold window recall, false alarms per 1,000 points, detection delay and
// event-level precision/recall/F1.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "latencyeval:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("latencyeval", flag.ContinueOnError)
	dataDir := fs.String("data", "", "directory of CSV files (timestamp,value)")
	labelsPath := fs.String("labels", "", "labels JSON: relative path -> [[start, end], ...]")
	outDir := fs.String("out", "", "output directory (scored CSVs and summary)")
	modes := fs.String("modes", "model,statistical", "comma-separated modes to run")
	modelPath := fs.String("model", "", "model_path for model mode (default: the embedded model)")
	thrModel := fs.Float64("threshold-model", 0, "threshold in model mode (0 = processor default)")
	thrStat := fs.Float64("threshold-statistical", 0, "threshold in statistical mode (0 = processor default)")
	sweep := fs.String("sweep", "", "comma-separated thresholds: evaluate each (per mode) and print F1 for tuning; use on a validation set, never on the held-out set")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dataDir == "" || *labelsPath == "" || (*outDir == "" && *sweep == "") {
		return fmt.Errorf("-data, -labels and -out are required")
	}
	set, err := loadDataset(*dataDir, *labelsPath)
	if err != nil {
		return err
	}
	ctx := context.Background()
	var results []modeResult
	for _, mode := range strings.Split(*modes, ",") {
		mode = strings.TrimSpace(mode)
		opts := runOptions{mode: mode, modelPath: *modelPath}
		switch mode {
		case "model":
			opts.threshold = *thrModel
		case "statistical":
			opts.threshold = *thrStat
		default:
			return fmt.Errorf("-modes: unknown mode %q (model, statistical)", mode)
		}
		if *sweep != "" {
			if err := runSweep(ctx, set, opts, *sweep); err != nil {
				return err
			}
			continue
		}
		scored, label, err := score(ctx, set, opts)
		if err != nil {
			return err
		}
		if err := writeScored(filepath.Join(*outDir, mode), set, scored); err != nil {
			return err
		}
		res := evaluate(set, scored)
		res.Mode, res.Model = mode, label
		results = append(results, res)
	}
	if *sweep != "" {
		return nil
	}
	return writeSummary(*outDir, set, results)
}

func writeSummary(outDir string, set *dataset, results []modeResult) error {
	doc := struct {
		Files   int          `json:"files"`
		Points  int          `json:"points"`
		Windows int          `json:"windows"`
		Modes   []modeResult `json:"modes"`
	}{len(set.files), set.points(), set.windows(), results}
	b, err := json.MarshalIndent(doc, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(outDir, "summary.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	md := markdownSummary(len(set.files), set.points(), set.windows(), results)
	if err := os.WriteFile(filepath.Join(outDir, "summary.md"), []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Print(md)
	return nil
}
