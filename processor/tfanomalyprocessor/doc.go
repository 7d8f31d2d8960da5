// Package tfanomalyprocessor implements the tf_anomaly processor: it keeps a
// bounded window of recent values per latency series, scores every new point
// in-process — with a TensorFlow Lite model run by internal/tflite (the
// embedded default model or model_path) or with a robust z-score baseline —
// and writes the score, the flag, the expected value and the model version
// onto the data point.
//
// It must not block on I/O on the hot path: the model file is polled and
// swapped by a background goroutine, and the per-series state is a fixed-size
// slab so memory stays bounded by max_series.
package tfanomalyprocessor // import "github.com/latencywatch/latencywatch/processor/tfanomalyprocessor"
