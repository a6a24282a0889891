package rpc

import "testing"

func testLimits() admitLimits {
	return admitLimits{maxAll: 10, maxData: 8, perConn: 3, perCtl: 2, maxQueued: 2, queueBytes: 1 << 20}
}

func req(op Op) *Message { return &Message{Header: Header{Op: op}} }

func TestAdmitCapsOneConnection(t *testing.T) {
	a := newAdmitter(testLimits())
	rid := []byte("a")
	want := []verdict{runNow, runNow, runNow, queued, queued, refused}
	for i, w := range want {
		if got := a.admit(rid, req(OpGetObject)); got != w {
			t.Fatalf("request %d: %d, want %d", i, got, w)
		}
	}
	if _, ok := a.next(); ok {
		t.Fatal("a queued request started while its connection is at its cap")
	}
	a.done(rid, false)
	j, ok := a.next()
	if !ok || string(j.rid) != "a" {
		t.Fatal("a freed slot did not start the connection's queued request")
	}
	if a.data != 3 || a.waiting() != 1 {
		t.Fatalf("running %d queued %d, want 3 and 1", a.data, a.waiting())
	}
}

func TestAdmitReservesControlSlots(t *testing.T) {
	a := newAdmitter(testLimits())
	for i := 0; i < 8; i++ { // 8 connections fill every data slot
		if a.admit([]byte{byte(i)}, req(OpStat)) != runNow {
			t.Fatalf("data request %d refused below the data cap", i)
		}
	}
	if got := a.admit([]byte("x"), req(OpStat)); got != queued {
		t.Fatalf("data request past the data cap: %d, want queued", got)
	}
	for _, op := range []Op{OpPing, OpInfo} {
		if got := a.admit([]byte("y"), req(op)); got != runNow {
			t.Fatalf("%s with data slots full: %d, want run", op, got)
		}
	}
	if got := a.admit([]byte("y"), req(OpMembers)); got != refused {
		t.Fatalf("control op past the per-connection control cap: %d, want refused", got)
	}
	if got := a.admit([]byte("z"), req(OpJoin)); got != refused {
		t.Fatalf("control op with every slot taken: %d, want refused", got)
	}
}

func TestAdmitTakesTurns(t *testing.T) {
	lim := testLimits()
	lim.maxData, lim.maxAll, lim.maxQueued = 2, 4, 10
	a := newAdmitter(lim)
	for i := 0; i < 2; i++ {
		a.admit([]byte("busy"), req(OpGetObject))
	}
	for i := 0; i < 3; i++ {
		a.admit([]byte("many"), req(OpGetObject))
	}
	a.admit([]byte("one"), req(OpGetObject))
	var order []string
	for i := 0; i < 4; i++ {
		a.done([]byte(string(order2(i, order))), false)
		j, ok := a.next()
		if !ok {
			t.Fatalf("round %d: nothing started", i)
		}
		order = append(order, string(j.rid))
	}
	want := []string{"many", "one", "many", "many"}
	for i := range want {
		if order[i] != want[i] {
			t.Fatalf("start order %v, want %v", order, want)
		}
	}
}

// order2 names whose slot is freed in round i of TestAdmitTakesTurns: the
// two first slots are "busy"'s, then the requests started since.
func order2(i int, started []string) string {
	if i < 2 {
		return "busy"
	}
	return started[i-2]
}

func TestAdmitCapsQueuedBytes(t *testing.T) {
	lim := testLimits()
	lim.perConn, lim.queueBytes = 1, 100
	a := newAdmitter(lim)
	big := &Message{Header: Header{Op: OpPutData}, Data: [][]byte{make([]byte, 80)}}
	a.admit([]byte("a"), big)
	if got := a.admit([]byte("a"), big); got != queued {
		t.Fatalf("first queued: %d", got)
	}
	if got := a.admit([]byte("b"), req(OpStat)); got != runNow {
		t.Fatalf("another connection: %d, want run", got)
	}
	a.admit([]byte("b"), req(OpStat))
	if got := a.admit([]byte("c"), big); got != runNow {
		t.Fatalf("third connection: %d", got)
	}
	if got := a.admit([]byte("c"), big); got != refused {
		t.Fatalf("queue over its byte cap: %d, want refused", got)
	}
}

func TestAdmitForgetsIdleConnections(t *testing.T) {
	a := newAdmitter(testLimits())
	for i := 0; i < 100; i++ {
		rid := []byte{byte(i)}
		a.admit(rid, req(OpPing))
		a.done(rid, true)
	}
	if len(a.conns) != 0 {
		t.Fatalf("%d idle connections kept", len(a.conns))
	}
}
