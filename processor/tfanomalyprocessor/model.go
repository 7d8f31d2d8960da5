package tfanomalyprocessor

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"

	"github.com/latencywatch/latencywatch/internal/tflite"
	"github.com/latencywatch/latencywatch/processor/tfanomalyprocessor/internal/defaultmodel"
)

// anomalyModel is a loaded model that follows the contract:
//
//	input  `window`   float32 [batch, W, 5]
//	output `score`    float32 [batch, 1]  anomaly score in 0..1
//	output `expected` float32 [batch, 1]  forecast of the newest row's value
//	                                      channel (normalised log seconds)
//
// Outputs are found by signature name, else the model must have exactly two
// outputs taken in the order score, expected. It holds interpreters for
// power-of-two batch sizes up to the configured batch so that any batch runs
// without a resize (which would allocate) and wastes at most half its rows.
type anomalyModel struct {
	label  string // name@version
	digest string // sha256 of the flatbuffer
	w      int
	interp []*modelInterp // index k: batch 1<<k
}

type modelInterp struct {
	ip              *tflite.Interpreter
	batch           int
	in              []float32
	score, expected []float32
}

// loadDefaultModel loads the embedded model.
func loadDefaultModel(w, maxBatch int) (*anomalyModel, error) {
	return loadModel(defaultmodel.TFLite, defaultmodel.Name, defaultmodel.Version, w, maxBatch)
}

// loadModelFile loads a user's model; its label is the file's base name and
// the first 12 hex digits of its sha256.
func loadModelBytes(data []byte, path string, w, maxBatch int) (*anomalyModel, error) {
	sum := sha256.Sum256(data)
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return loadModel(data, name, hex.EncodeToString(sum[:])[:12], w, maxBatch)
}

func loadModel(data []byte, name, version string, w, maxBatch int) (*anomalyModel, error) {
	m, err := tflite.Load(data, name)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	am := &anomalyModel{label: name + "@" + version, digest: hex.EncodeToString(sum[:]), w: w}
	for b := 1; ; b *= 2 {
		if b > maxBatch {
			b = maxBatch
		}
		mi, err := newModelInterp(m, w, b)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", name, err)
		}
		am.interp = append(am.interp, mi)
		if b >= maxBatch {
			break
		}
	}
	if err := am.selfTest(); err != nil {
		return nil, fmt.Errorf("model %s: %w", name, err)
	}
	return am, nil
}

func newModelInterp(m *tflite.Model, w, batch int) (*modelInterp, error) {
	var ip *tflite.Interpreter
	var err error
	if len(m.Signatures()) > 0 {
		ip, err = tflite.NewSignatureInterpreter(m, m.Signatures()[0].Key)
	} else {
		ip, err = tflite.NewInterpreter(m)
	}
	if err != nil {
		return nil, err
	}
	if n := len(ip.Inputs()); n != 1 {
		return nil, fmt.Errorf("has %d inputs, the contract wants one `window` [batch, %d, %d]", n, w, numFeatures)
	}
	if err := ip.ResizeBatch(batch); err != nil {
		return nil, fmt.Errorf("batch %d: %w", batch, err)
	}
	if err := ip.AllocateTensors(); err != nil {
		return nil, err
	}
	in := ip.Input(0)
	if sh := in.Shape(); in.Type() != tflite.Float32 || len(sh) != 3 || sh[1] != w || sh[2] != numFeatures {
		return nil, fmt.Errorf("input is %s %v, the contract wants float32 [batch, %d, %d] (window_size %d)", in.Type(), sh, w, numFeatures, w)
	}
	score, errS := ip.OutputByName("score")
	expected, errE := ip.OutputByName("expected")
	if errS != nil || errE != nil {
		if len(ip.Outputs()) != 2 {
			return nil, fmt.Errorf("has %d outputs and no outputs named `score` and `expected`", len(ip.Outputs()))
		}
		score, expected = ip.Output(0), ip.Output(1)
	}
	for _, o := range []struct {
		name string
		t    *tflite.Tensor
	}{{"score", score}, {"expected", expected}} {
		if o.t.Type() != tflite.Float32 || o.t.Len() != batch {
			return nil, fmt.Errorf("output %s is %s %v, the contract wants float32 [batch, 1]", o.name, o.t.Type(), o.t.Shape())
		}
	}
	return &modelInterp{ip: ip, batch: batch, in: in.Float32s(), score: score.Float32s(), expected: expected.Float32s()}, nil
}

// selfTest runs each interpreter once on a flat window and checks the outputs
// are finite and the score within 0..1, so a broken file is rejected before
// it replaces a working model.
func (am *anomalyModel) selfTest() error {
	for _, mi := range am.interp {
		clear(mi.in)
		for i := 0; i < len(mi.in); i += numFeatures {
			mi.in[i+2], mi.in[i+4] = 1, 1 // cos of time features at phase 0
		}
		if err := mi.ip.Invoke(); err != nil {
			return fmt.Errorf("test inference: %w", err)
		}
		for i := 0; i < mi.batch; i++ {
			s, e := float64(mi.score[i]), float64(mi.expected[i])
			if math.IsNaN(s) || s < 0 || s > 1 {
				return fmt.Errorf("test inference: score %v is not within 0..1", s)
			}
			if math.IsNaN(e) || math.IsInf(e, 0) {
				return errors.New("test inference: expected is not finite")
			}
		}
	}
	return nil
}

// interpFor returns the smallest interpreter that fits n windows.
func (am *anomalyModel) interpFor(n int) *modelInterp {
	for _, mi := range am.interp {
		if mi.batch >= n {
			return mi
		}
	}
	return am.interp[len(am.interp)-1]
}
