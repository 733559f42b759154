package core

import "fmt"

// clientTable is the cluster's memory of its clients (VRR §4.1, as corrected by the two
// client-table bugs TigerBeetle's client_sessions.zig documents):
//
//  1. Sessions are registered through the log. A session's number is the op at which its
//     register committed, so it only grows: a client that crashed and registers again has a
//     new session, and its old requests, whatever their numbers, can never collide with its
//     new ones and receive the wrong reply.
//  2. The table changes only when an op executes, never when a request or a prepare
//     arrives. An uncommitted request may not survive a view change; had it already moved
//     the client's request number, the client could be locked out for good.
//
// The table is bounded; registering into a full table evicts the session whose latest
// commit is oldest. Every replica executes the same ops in the same order, so every replica
// evicts the same session.
//
//	Invariant: byClient indexes exactly the slots with a nonzero session, by their client;
//	len(byClient) ≤ max = len(entries).
type clientTable struct {
	max      int
	entries  []clientEntry // slots; a zero session marks a free one
	byClient map[ClientID]int
}

type clientEntry struct {
	client  ClientID
	session Session
	request RequestNumber // the latest request executed in this session
	output  []byte        // that request's output: its reply is rebuilt to resend it
	commit  Op            // where that request executed
	index   uint32        // its position in the batch there: (commit, index) orders entries
}

func newClientTable(max int) *clientTable {
	assert(max > 0) // an empty table could register no one
	return &clientTable{max: max, entries: make([]clientEntry, max), byClient: make(map[ClientID]int, max)}
}

func (t *clientTable) get(client ClientID) *clientEntry {
	slot, ok := t.byClient[client]
	if !ok {
		return nil
	}
	e := &t.entries[slot]
	if e.client != client || e.session == 0 {
		panic(fmt.Sprintf("core: client table slot %d holds %d, indexed for %d", slot, e.client, client))
	}
	assert(uint64(e.session) <= uint64(e.commit)) // its latest request ran at or after its register
	return e
}

func (t *clientTable) full() bool {
	assert(len(t.byClient) <= t.max && len(t.entries) == t.max)
	return len(t.byClient) == t.max
}

// evictee is the session whose latest commit is oldest.
func (t *clientTable) evictee() ClientID {
	if !t.full() {
		panic("core: eviction from a table that is not full")
	}
	var oldest *clientEntry
	for i := range t.entries {
		e := &t.entries[i]
		if e.session == 0 {
			panic("core: free slot in a full client table")
		}
		if oldest == nil || e.commit < oldest.commit || (e.commit == oldest.commit && e.index < oldest.index) {
			oldest = e
		}
	}
	assert(oldest != nil && oldest.client != 0)
	return oldest.client
}

func (t *clientTable) remove(client ClientID) {
	slot, ok := t.byClient[client]
	if !ok {
		panic(fmt.Sprintf("core: removal of client %d not in the table", client))
	}
	assert(t.entries[slot].client == client && t.entries[slot].session != 0)
	delete(t.byClient, client)
	t.entries[slot] = clientEntry{}
}

// register opens a session; the table must have room.
func (t *clientTable) register(client ClientID, session Session, output []byte, commit Op, index uint32) {
	if t.full() {
		panic("core: register into a full client table")
	}
	if _, ok := t.byClient[client]; ok {
		panic(fmt.Sprintf("core: client %d registered twice", client))
	}
	// A session is the op its register committed at, and clients are nonzero.
	assert(client != 0 && session != 0 && Op(session) == commit)
	for slot := range t.entries {
		if t.entries[slot].session == 0 {
			t.entries[slot] = clientEntry{client: client, session: session, output: output, commit: commit, index: index}
			t.byClient[client] = slot
			// The scan for a free slot is O(max) already: count the used ones alongside.
			used := 0
			for i := range t.entries {
				if t.entries[i].session != 0 {
					used++
				}
			}
			assert(used == len(t.byClient))
			return
		}
	}
	panic("core: no free slot in a client table that is not full")
}

// update records the execution of a session's next request; the entry keeps its own copy
// of the output.
func (e *clientEntry) update(request RequestNumber, output []byte, commit Op, index uint32) {
	if request != e.request+1 || commit < e.commit {
		panic(fmt.Sprintf("core: client %d request %d at op %d after request %d at op %d",
			e.client, request, commit, e.request, e.commit))
	}
	assert(e.session != 0 && e.client != 0)
	// A session's requests commit after its register: never at the op that registered it.
	assert(uint64(commit) > uint64(e.session))
	e.request, e.output, e.commit, e.index = request, append(e.output[:0], output...), commit, index
}
