package sim

import (
	"fmt"

	"github.com/vsrsim/vsrsim/checker"
	"github.com/vsrsim/vsrsim/core"
)

// Who acknowledged. A replica asserts its own preconditions before it acknowledges, but a
// replica whose code is wrong asserts wrongly; so the world checks, independently, every
// acknowledgement and every view-change vote as it leaves a replica, against the
// replica's state at that moment:
//
//   - a prepare_ok comes from a backup normal in the view it names, holding the prepare it
//     names on its trusted chain (an ack from a replica that lost the start_view, or that
//     does not hold what it acks, can make an op commit that a view change then truncates);
//   - a start_view_change comes from a replica changing views to the view it names;
//   - a do_view_change comes from a replica changing views to the view it names, whose log
//     view is below it, whom the world never saw normal in that view or a later one, that
//     describes its own log, and that holds every prepare its window says it holds;
//   - a start_view comes from the normal primary of the view it names, with its own log.
//
// Other messages are not decoded here: each send costs a peek at its command.
const invariantAcks = "who acknowledged"

// checkSent checks a message replica sender hands to its bus.
func (w *World) checkSent(sender int, message []byte) {
	switch core.PeekCommand(message) {
	case core.CommandPrepareOk, core.CommandStartViewChange, core.CommandDoViewChange,
		core.CommandStartView:
	default:
		return
	}
	command, err := w.sentDecoder.Decode(message)
	if err != nil {
		w.ackViolation(sender, "sent a %v its peers cannot decode: %v", core.PeekCommand(message), err)
		return
	}
	r := w.replicas[sender]
	d := w.sentDecoder
	var problem string
	switch command {
	case core.CommandPrepareOk:
		if problem = prepareOkProblem(r, &d.PrepareOk); problem == "" {
			w.noteAck(&d.PrepareOk)
		}
	case core.CommandStartViewChange:
		problem = startViewChangeProblem(r, &d.StartViewChange)
	case core.CommandDoViewChange:
		problem = w.doViewChangeProblem(sender, r, &d.DoViewChange)
	case core.CommandStartView:
		problem = startViewProblem(r, &d.StartView)
	}
	if problem != "" {
		w.ackViolation(sender, "%s", problem)
	}
}

func (w *World) ackViolation(sender int, format string, args ...any) {
	w.violations = append(w.violations, checker.Violation{Tick: uint64(w.kernel.Now()),
		Replica: sender, Invariant: invariantAcks, Detail: fmt.Sprintf(format, args...)})
}

// describeState is a replica's state as the ack checks report it.
func describeState(r *core.Replica) string {
	return fmt.Sprintf("%v in view %d (log view %d, op %d)", r.Status(), r.View(), r.LogView(), r.Op())
}

func prepareOkProblem(r *core.Replica, m *core.PrepareOk) string {
	switch {
	case m.Replica != r.Index():
		return fmt.Sprintf("a prepare_ok signed by replica %d", m.Replica)
	case r.Status() != core.StatusNormal || r.View() != m.View:
		return fmt.Sprintf("prepare_ok for op %d in view %d while %s", m.Op, m.View, describeState(r))
	case r.IsPrimary():
		return fmt.Sprintf("prepare_ok for op %d from the primary of view %d", m.Op, m.View)
	case !r.HoldsOnChain(m.Op, m.Prepare):
		return fmt.Sprintf("prepare_ok for op %d (%v) in view %d without holding it on its trusted chain",
			m.Op, m.Prepare, m.View)
	case !r.DurablyHeld(m.Op, m.Prepare):
		return fmt.Sprintf("prepare_ok for op %d (%v) in view %d before its prepare, its header and a root "+
			"normal in the view were on disk", m.Op, m.Prepare, m.View)
	}
	return ""
}

func startViewChangeProblem(r *core.Replica, m *core.StartViewChange) string {
	if m.Replica != r.Index() || r.Status() != core.StatusViewChange || r.View() != m.View {
		return fmt.Sprintf("start_view_change r%d for view %d while %s", m.Replica, m.View, describeState(r))
	}
	return ""
}

func (w *World) doViewChangeProblem(sender int, r *core.Replica, m *core.DoViewChange) string {
	switch {
	case m.Replica != r.Index() || r.Status() != core.StatusViewChange || r.View() != m.View:
		return fmt.Sprintf("do_view_change r%d for view %d while %s", m.Replica, m.View, describeState(r))
	case m.LogView >= m.View || m.LogView != r.LogView():
		return fmt.Sprintf("do_view_change for view %d names log view %d while %s", m.View, m.LogView,
			describeState(r))
	case w.normalViewMax[sender] >= m.View:
		return fmt.Sprintf("do_view_change for view %d after having been normal in view %d", m.View,
			w.normalViewMax[sender])
	case m.Op != r.Op() || m.Commit > r.CommitMax():
		return fmt.Sprintf("do_view_change for view %d describes op %d commit %d while at op %d commit %d",
			m.View, m.Op, m.Commit, r.Op(), r.CommitMax())
	}
	for i := range m.Headers {
		h := &m.Headers[i]
		if m.Present&(1<<i) != 0 && !r.HoldsOnChain(h.Op, h.Checksum) {
			return fmt.Sprintf("do_view_change for view %d says it holds op %d (%v), which it does not hold on its trusted chain",
				m.View, h.Op, h.Checksum)
		}
	}
	return ""
}

func startViewProblem(r *core.Replica, m *core.StartView) string {
	if m.Replica != r.Index() || r.Status() != core.StatusNormal || !r.IsPrimary() || r.View() != m.View ||
		m.Op != r.Op() {
		return fmt.Sprintf("start_view r%d for view %d at op %d while %s, primary %v", m.Replica, m.View, m.Op,
			describeState(r), r.IsPrimary())
	}
	return ""
}
