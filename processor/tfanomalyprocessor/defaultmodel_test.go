package tfanomalyprocessor

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/latencywatch/latencywatch/internal/tflite"
	"github.com/latencywatch/latencywatch/processor/tfanomalyprocessor/internal/defaultmodel"
)

// TestDefaultModelMatchesTensorFlow runs the embedded model on the inputs
// train.py fed TensorFlow's own tf.lite.Interpreter and compares outputs:
// |got - want| <= tol * max|want| per output tensor (the convention of
// internal/tflite's conformance suite).
func TestDefaultModelMatchesTensorFlow(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "default_model_conformance.json"))
	require.NoError(t, err)
	var doc struct {
		Generator string  `json:"generator"`
		Tolerance float64 `json:"tolerance"`
		Cases     []struct {
			Batch    int    `json:"batch"`
			Window   string `json:"window"`
			Score    string `json:"score"`
			Expected string `json:"expected"`
		} `json:"cases"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))
	require.LessOrEqual(t, doc.Tolerance, 1e-5)
	require.NotEmpty(t, doc.Cases)
	m, err := tflite.Load(defaultmodel.TFLite, defaultmodel.Name)
	require.NoError(t, err)
	for _, c := range doc.Cases {
		mi, err := newModelInterp(m, 64, c.Batch)
		require.NoError(t, err)
		copy(mi.in, decodeFloats(t, c.Window))
		require.NoError(t, mi.ip.Invoke())
		for name, pair := range map[string][2][]float32{
			"score":    {mi.score, decodeFloats(t, c.Score)},
			"expected": {mi.expected, decodeFloats(t, c.Expected)},
		} {
			got, want := pair[0], pair[1]
			require.Len(t, got, len(want))
			scale := 0.0
			for _, v := range want {
				scale = math.Max(scale, math.Abs(float64(v)))
			}
			for i := range want {
				d := math.Abs(float64(got[i]) - float64(want[i]))
				require.LessOrEqual(t, d, doc.Tolerance*math.Max(scale, 1e-30),
					"batch %d %s[%d]: got %.9g, TensorFlow (%s) %.9g", c.Batch, name, i, got[i], doc.Generator, want[i])
			}
		}
	}
}

func TestDefaultModelLoadsWithContract(t *testing.T) {
	am, err := loadDefaultModel(64, 256)
	require.NoError(t, err)
	require.Equal(t, "latency_anomaly@"+defaultmodel.Version, am.label)
	require.Equal(t, 256, am.interpFor(200).batch)
	require.Equal(t, 1, am.interpFor(1).batch)
	require.Equal(t, 4, am.interpFor(3).batch)

	_, err = loadDefaultModel(32, 8)
	require.ErrorContains(t, err, "the contract wants float32 [batch, 32, 5]")
}
