// Package defaultmodel embeds LatencyWatch's default latency anomaly model,
// trained with TensorFlow by model/train/train.py (`make model`). Its model
// card is MODEL_CARD.md beside this file; training_metrics.json holds the
// validation metrics `make model` reproduces.
package defaultmodel

import _ "embed"

// Name and Version label the model in the `latencywatch.anomaly.model`
// attribute (name@version).
const (
	Name    = "latency_anomaly"
	Version = "1.1.0"
)

// TFLite is the model flatbuffer.
//
//go:embed latency_anomaly.tflite
var TFLite []byte

// TrainingMetrics is the JSON the training run wrote beside the model.
//
//go:embed training_metrics.json
var TrainingMetrics []byte
