// Package tflite runs TensorFlow Lite models in pure Go (no cgo, no
// libtensorflow), for the tf_anomaly processor's window scoring.
//
// It must give TensorFlow's numbers, refuse what it cannot run at load time,
// and stay inside fixed memory: it must not crash the collector on a bad file,
// allocate per inference, or grow without bound on hostile shapes.
//
// # Use
//
//	m, err := tflite.LoadFile("model.tflite") // validates everything, once
//	ip, err := tflite.NewSignatureInterpreter(m, "serving_default") // one per goroutine
//	ip.ResizeBatch(256)                       // dynamic batch: first input dimension
//	ip.AllocateTensors()                      // shapes + arena plan
//	in, _ := ip.InputByName("window")
//	copy(in.Float32s(), windows)
//	ip.Invoke()                               // no allocations after the first call
//	out, _ := ip.OutputByName("output_0")
//
// A resize re-plans the arena (and allocates); a caller scoring batches of
// varying size should keep one batch size and pad, or keep one interpreter per
// size. Data slices move on re-plan: fetch them again after a resize.
//
// # Loading and validation
//
// The flatbuffer is read through the github.com/google/flatbuffers Go runtime,
// but every table, vtable, field, vector and string offset is bounds-checked
// first (fbread.go); the runtime itself trusts its input. Load checks the file
// identifier (TFL3) and schema version (3), operator codes (the larger of
// builtin_code and deprecated_builtin_code, as the schema prescribes), buffer
// bounds and sizes against shapes and types, tensor shapes and
// shape_signatures, graph inputs/outputs, operator order (every input written
// before it is read, every tensor written once), SignatureDefs (each name maps
// to an input/output of its subgraph), quantization parameters, and each
// operator's arity, types and options. Unsupported operators fail at load with
// one error naming the model and every unsupported operator.
//
// Limits (DefaultLimits, LoadWithLimits) cap tensor size, arena size, WHILE
// iterations and batch. Load allocates in proportion to the file (packed
// weights are also capped by the arena limit); planning allocates at most the
// arena limit. A recover in Load, AllocateTensors and Invoke turns any missed
// check into an error; tests and FuzzLoad disable it so such misses are found.
//
// # Execution
//
// AllocateTensors propagates shapes, folds constant sub-graphs (e.g. the
// SHAPE → STRIDED_SLICE → PACK → RESHAPE chains Keras emits for dynamic batch,
// and DEQUANTIZE of float16/int8 weights, which is folded at load), and plans
// every activation and kernel scratch block of every subgraph into one arena:
// blocks whose lifetimes do not overlap share memory, and reshape-type outputs
// alias their input. Invoke then runs kernels that do not allocate.
//
// Float32 is the activation type. Weights may be float32, float16 (dequantized
// at load) or int8 "dynamic range": FULLY_CONNECTED and CONV_2D then run
// TFLite's hybrid arithmetic (per-row/per-image int8 quantization of the input,
// int32 accumulation) so results match TensorFlow rather than an idealised
// float product. INT32/INT64/BOOL tensors serve shape arithmetic and control
// flow. Fused activations: RELU, RELU6, RELU_N1_TO_1, TANH.
//
// WHILE runs Keras 3 LSTM/GRU layers (TF 2.21 with Keras 3 converts recurrent
// layers to WHILE loops); tf.keras (Keras 2, package tf-keras) LSTMs convert to
// the fused UNIDIRECTIONAL_SEQUENCE_LSTM, whose output and cell state are
// variable tensors: as in TFLite they carry over from one Invoke to the next
// until AllocateTensors or ResetVariables zeroes them (call ResetVariables per
// window when windows are independent). Either way TF 2.21 converts recurrent
// layers only with a fixed batch size. The loop body's TensorList
// writes lower to SLICEs whose size depends on the loop index; such operators
// get an upper-bound arena block and are re-prepared each step, reusing their
// plan and a per-node int pool, so these models do not allocate either (other
// operator kinds downstream of a run-time shape may allocate when re-prepared).
//
// FULLY_CONNECTED and CONV_2D run a packed-panel GEMM; on amd64 the micro
// kernels are Go assembly (AVX-512 8×16, AVX2/FMA 4×16 and 1×64, chosen at
// run time; build tag purego forces the portable Go kernel). Conv1D interiors
// use the input as the patch matrix directly (no im2col).
//
// # Supported operators
//
// ABS, ADD, AVERAGE_POOL_2D, BATCH_MATMUL, BATCH_TO_SPACE_ND, CAST,
// CONCATENATION, CONV_2D, DEPTHWISE_CONV_2D, DEQUANTIZE (of constants, at
// load), DIV, ELU, EXP, EXPAND_DIMS, FILL, FULLY_CONNECTED, GATHER, GELU,
// GREATER, LEAKY_RELU, LESS, LOG, LOGICAL_AND, LOGICAL_NOT, LOGISTIC, MAXIMUM,
// MAX_POOL_2D, MEAN, MINIMUM, MUL, NEG, PACK, PAD, REDUCE_MAX, REDUCE_PROD,
// RELU, RELU6, RESHAPE, RSQRT, SHAPE, SLICE, SOFTMAX, SPACE_TO_BATCH_ND, SPLIT,
// SQRT, SQUARE, SQUARED_DIFFERENCE, SQUEEZE, STRIDED_SLICE, SUB, SUM, TANH,
// TILE, TRANSPOSE, UNIDIRECTIONAL_SEQUENCE_LSTM, UNPACK, WHILE.
// SupportedOperators lists them at run time.
//
// This is everything TF 2.21's default converter emits for Keras models built
// from Dense, Conv1D/Conv2D/SeparableConv1D, max/average/global pooling, LSTM,
// GRU (both unrolled and not), LayerNormalization, Dropout, the merge layers
// (Add, Subtract, Multiply, Average, Maximum, Minimum, Concatenate, Dot),
// ZeroPadding1D, Cropping1D, Permute, UpSampling1D, the common activations, and
// float16 or int8 dynamic-range weights, plus tf.keras LSTMs. Not supported:
// full-integer (int8 activation) models, custom and Flex (SELECT_TF_OPS)
// operators, sparse tensors, variable tensors other than LSTM state,
// int8-weight or layer-normalized fused LSTMs, and DEQUANTIZE of run-time
// tensors.
//
// # Numeric tolerance
//
// model/conformance/generate.py builds seeded models with TensorFlow 2.21 and
// records tf.lite.Interpreter's outputs (builtin kernels, no XNNPACK); the
// conformance test requires |got − want| ≤ 1e-5 · max|want| for every output
// element of every model, recurrent and quantized ones included (measured
// worst case ≈ 1e-6). Differences come from float32 summation order and from
// math.Tanh/Exp versus TFLite's approximations; integer parts of the hybrid
// kernels are exact. A looser tolerance for a model must be justified in its
// fixture (tolerance_reason); the test refuses anything above 1e-4.
//
// # Adding an operator
//
//  1. Write a kernel: prepare (output shapes from input shapes; ask for scratch
//     via node.scratchWords; read shape-deciding tensors with node.ints) and
//     eval (compute; must not allocate).
//  2. Write a build function that checks arity, types and options at load, and
//     register it in registry.go under its BuiltinOperator code.
//  3. Add a Keras model that produces the operator to
//     model/conformance/generate.py, run `make tflite-fixtures`, and commit the
//     new fixtures; `make test` regenerates them with TensorFlow and compares.
//  4. Add a fuzz seed if the operator has new options.
package tflite
