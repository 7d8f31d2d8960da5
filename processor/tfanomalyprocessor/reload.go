package tfanomalyprocessor

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
)

// modelReloader polls model_path and swaps in a changed model once it has
// loaded and passed the self-test; a bad file keeps the running model, is
// logged and counted, and is not retried until it changes again.
type modelReloader struct {
	p        *anomalyProcessor
	path     string
	interval time.Duration

	// seen is the stat and digest of the file last examined (good or bad);
	// only the polling goroutine touches it after loadInitial.
	seenMod  time.Time
	seenSize int64
	seenSum  [32]byte
	seenErr  string // the last stat/read error, reported once until it changes

	done     chan struct{}
	stopped  chan struct{}
	stopOnce sync.Once
	started  bool
}

func newModelReloader(p *anomalyProcessor, path string, interval time.Duration) *modelReloader {
	return &modelReloader{p: p, path: path, interval: interval, done: make(chan struct{}), stopped: make(chan struct{})}
}

func (r *modelReloader) loadInitial() (*anomalyModel, error) {
	m, _, err := r.load()
	return m, err
}

// load reads the file and builds a model from it; changed is false when the
// file's content is what was seen last time.
func (r *modelReloader) load() (*anomalyModel, bool, error) {
	fi, err := os.Stat(r.path)
	if err != nil {
		// A missing file is reported once, not on every poll.
		changed := err.Error() != r.seenErr
		r.seenErr, r.seenMod, r.seenSize = err.Error(), time.Time{}, -1
		return nil, changed, err
	}
	r.seenErr = ""
	if fi.ModTime().Equal(r.seenMod) && fi.Size() == r.seenSize {
		return nil, false, nil
	}
	data, err := os.ReadFile(r.path)
	if err != nil {
		changed := err.Error() != r.seenErr
		r.seenErr = err.Error()
		return nil, changed, err
	}
	sum := sha256.Sum256(data)
	if sum == r.seenSum {
		r.seenMod, r.seenSize = fi.ModTime(), fi.Size()
		return nil, false, nil
	}
	r.seenMod, r.seenSize, r.seenSum = fi.ModTime(), fi.Size(), sum
	m, err := loadModelBytes(data, r.path, r.p.cfg.WindowSize, r.p.cfg.BatchSize)
	if err != nil {
		return nil, true, fmt.Errorf("%s: %w", r.path, err)
	}
	return m, true, nil
}

func (r *modelReloader) run() {
	r.started = true
	go func() {
		defer close(r.stopped)
		t := time.NewTicker(r.interval)
		defer t.Stop()
		for {
			select {
			case <-r.done:
				return
			case <-t.C:
				r.poll()
			}
		}
	}()
}

var (
	reloadSuccess = metric.WithAttributeSet(attribute.NewSet(attribute.String("result", "success")))
	reloadFailure = metric.WithAttributeSet(attribute.NewSet(attribute.String("result", "failure")))
)

func (r *modelReloader) poll() {
	m, changed, err := r.load()
	if !changed {
		return
	}
	ctx := context.Background()
	if err != nil {
		r.p.tel.TfAnomalyModelReloads.Add(ctx, 1, reloadFailure)
		r.p.logger.Warn("tf_anomaly: changed model_path rejected; keeping the running model",
			zap.String("model_path", r.path), zap.Error(err))
		return
	}
	old := r.p.currentLabel()
	r.p.swapModel(m)
	r.p.tel.TfAnomalyModelReloads.Add(ctx, 1, reloadSuccess)
	r.p.logger.Info("tf_anomaly: model reloaded", zap.String("model_path", r.path),
		zap.String("previous", old), zap.String("model", m.label))
}

func (r *modelReloader) stop() {
	r.stopOnce.Do(func() {
		close(r.done)
		if r.started {
			<-r.stopped
		}
	})
}
