package checker

import "github.com/vsrsim/vsrsim/lincheck"

// The client history and the key-value specification belong to package lincheck, which
// reads and judges histories. The world's invariants here check the same operations, so
// these names stay as aliases: sim/ and the invariants keep saying checker.Operation.
// New code that judges histories should import lincheck.

type (
	// Operation is one client call: lincheck.Operation.
	Operation = lincheck.Operation
	// KVOp names a key-value operation: lincheck.KVOp.
	KVOp = lincheck.KVOp
	// KVInput is a key-value request: lincheck.KVInput.
	KVInput = lincheck.KVInput
	// KVOutput is a key-value answer: lincheck.KVOutput.
	KVOutput = lincheck.KVOutput
	// History is a client history: lincheck.History.
	History = lincheck.History
	// HistoryVerdict is lincheck.Verdict.
	HistoryVerdict = lincheck.Verdict
	// CheckOptions are lincheck.Options.
	CheckOptions = lincheck.Options
	// CheckResult is lincheck.Result.
	CheckResult = lincheck.Result
)

// The operations, formats, models, strategies and verdicts sim/ names.
const (
	OpGet             = lincheck.OpGet
	OpPut             = lincheck.OpPut
	OpAppend          = lincheck.OpAppend
	OpCAS             = lincheck.OpCAS
	FormatVSRSim      = lincheck.FormatVSRSim
	ModelKV           = lincheck.ModelKV
	StrategyPorcupine = lincheck.StrategyPorcupine
	Unknown           = lincheck.Unknown
	Linearizable      = lincheck.Linearizable
	NotLinearizable   = lincheck.NotLinearizable
)

// KVStep is lincheck.KVStep: the key-value specification.
func KVStep(value string, in KVInput) (string, KVOutput) { return lincheck.KVStep(value, in) }

// CheckHistory is lincheck.Check.
func CheckHistory(h *History, opts CheckOptions) CheckResult { return lincheck.Check(h, opts) }
