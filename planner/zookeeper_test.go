package planner

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kshift/kshift/plans"
)

func zkSnapshot(other ...string) *plans.Snapshot {
	s := cluster(sixBrokers, map[string][][]int32{"orders": {{1, 2}, {2, 3}}})
	s.ZooKeeper = &plans.Ensemble{Connect: "zk1:2181,zk2:2181,zk3:2181/kafka", Chroot: "/kafka", OtherChroots: other}
	for id := 3; id >= 1; id-- {
		s.ZooKeeper.Members = append(s.ZooKeeper.Members, plans.ZKServer{ID: id, Host: fmt.Sprintf("zk%d", id), QuorumPort: 2888, ElectionPort: 3888, ClientPort: 2181, Role: plans.RoleParticipant})
	}
	return s
}

func withZK(mode plans.ZooKeeperMode, ids ...int) func(*plans.Mapping) {
	return func(m *plans.Mapping) {
		m.ZooKeeper = &plans.ZooKeeperMapping{Mode: mode}
		for _, id := range ids {
			m.ZooKeeper.Targets = append(m.ZooKeeper.Targets, plans.ZKTargetNode{ID: id, Host: fmt.Sprintf("new%d", id)})
		}
	}
}

// zkLines renders the zk steps: "number phase connect join promote retire sources prune before".
func zkLines(p *plans.Plan) []string {
	var out []string
	for _, s := range p.Steps {
		if z := s.ZooKeeper; z != nil {
			var join, before []string
			for _, j := range z.Join {
				join = append(join, fmt.Sprintf("%d:%s", j.ID, j.Role))
			}
			for _, b := range z.Before {
				before = append(before, fmt.Sprintf("%d:%s", b.ID, b.Role))
			}
			out = append(out, fmt.Sprintf("%d %s %s join=%v promote=%v retire=%v sources=%v prune=%v chroot=%s before=%v",
				s.Number, s.Phase, z.Connect, join, z.Promote, z.Retire, z.Sources, z.Prune, z.Chroot, before))
		}
	}
	return out
}

func TestZooKeeperSteps(t *testing.T) {
	for _, tc := range []struct {
		name  string
		snap  *plans.Snapshot
		mode  plans.ZooKeeperMode
		first string
		last  []string
	}{
		{
			name:  "dedicated ensemble: handover",
			snap:  zkSnapshot(),
			first: "1 zk-join zk1:2181,zk2:2181,zk3:2181,new4:2181,new5:2181,new6:2181 join=[4:observer 5:observer 6:observer] promote=[] retire=[] sources=[] prune=[] chroot= before=[1:participant 2:participant 3:participant]",
			last: []string{"zk-handover zk1:2181,zk2:2181,zk3:2181,new4:2181,new5:2181,new6:2181 join=[] promote=[4 5 6] retire=[1 2 3] sources=[] prune=[] chroot= " +
				"before=[1:participant 2:participant 3:participant 4:observer 5:observer 6:observer]"},
		},
		{
			name:  "shared ensemble: fork and prune",
			snap:  zkSnapshot("/other-b", "/other-a"),
			first: "1 zk-join zk1:2181,zk2:2181,zk3:2181,new4:2181,new5:2181,new6:2181 join=[4:observer 5:observer 6:observer] promote=[] retire=[] sources=[] prune=[] chroot= before=[1:participant 2:participant 3:participant]",
			last: []string{
				"zk-fork new4:2181,new5:2181,new6:2181 join=[] promote=[] retire=[] sources=[1 2 3] prune=[] chroot=/kafka before=[]",
				"zk-prune new4:2181,new5:2181,new6:2181 join=[] promote=[] retire=[] sources=[1 2 3] prune=[/other-a /other-b] chroot=/kafka before=[]",
			},
		},
		{
			name:  "fork asked for, no other chroot: nothing to prune",
			snap:  zkSnapshot(),
			mode:  plans.ZKModeFork,
			first: "1 zk-join zk1:2181,zk2:2181,zk3:2181,new4:2181,new5:2181,new6:2181 join=[4:observer 5:observer 6:observer] promote=[] retire=[] sources=[] prune=[] chroot= before=[1:participant 2:participant 3:participant]",
			last:  []string{"zk-fork new4:2181,new5:2181,new6:2181 join=[] promote=[] retire=[] sources=[1 2 3] prune=[] chroot=/kafka before=[]"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := mustBuild(t, tc.snap, mapping([]int32{1, 2, 3}, []int32{11, 12, 13}, withZK(tc.mode, 6, 4, 5)))
			p := res.Plan
			lines := zkLines(p)
			if len(lines) != 1+len(tc.last) || lines[0] != tc.first {
				t.Fatalf("zk steps:\n%s\nwant first\n%s", strings.Join(lines, "\n"), tc.first)
			}
			n := len(p.Steps)
			for i, want := range tc.last {
				want = fmt.Sprintf("%d %s", n-len(tc.last)+1+i, want)
				if lines[1+i] != want {
					t.Errorf("zk step:\n%s\nwant\n%s", lines[1+i], want)
				}
			}
			if err := p.Validate(); err != nil {
				t.Errorf("plan does not validate: %v", err)
			}
			rb := plans.Rollback(p)
			if err := rb.Validate(); err != nil {
				t.Errorf("rollback plan does not validate: %v", err)
			}
			// zk-fork and zk-prune have no undo: a fork's rollback starts
			// with restarting the sources (the retire-sources step's undo).
			wantFirst := plans.PhaseZKHandover
			if strings.HasPrefix(tc.last[0], "zk-fork") {
				wantFirst = plans.PhaseRetireSources
			}
			if first, last := rb.Steps[0].Phase, rb.Steps[len(rb.Steps)-1].Phase; first != wantFirst || last != plans.PhaseZKJoin {
				t.Errorf("rollback plan runs %s first and %s last, want %s and %s", first, last, wantFirst, plans.PhaseZKJoin)
			}
			// The reassignment steps, then retire-sources: the source
			// brokers are gone before the ensemble is handed over or forked.
			for i, s := range p.Steps[1 : n-len(tc.last)-1] {
				if !s.Phase.IsReassignment() || s.Number != i+2 {
					t.Errorf("step %d is %s between the zk steps", s.Number, s.Phase)
				}
			}
			if s := p.Steps[n-len(tc.last)-1]; s.Phase != plans.PhaseRetireSources {
				t.Errorf("step %d before the last zk steps is %s, want %s", s.Number, s.Phase, plans.PhaseRetireSources)
			}
			// The plan round-trips through its file format.
			data, err := plans.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			back, err := plans.Decode[plans.Plan](data, "plan.yaml")
			if err != nil {
				t.Fatalf("decoding the plan: %v\n%s", err, data)
			}
			if got := zkLines(back); strings.Join(got, "\n") != strings.Join(lines, "\n") {
				t.Errorf("zk steps after a round trip:\n%s", strings.Join(got, "\n"))
			}
		})
	}
}

func TestZooKeeperRefusals(t *testing.T) {
	noZK := zkSnapshot()
	noZK.ZooKeeper = nil
	for _, tc := range []struct {
		name string
		snap *plans.Snapshot
		edit func(*plans.Mapping)
		want string
	}{
		{"no ensemble in the snapshot", noZK, withZK("", 4, 5, 6), "records no ensemble members"},
		{"target id used by a source", zkSnapshot(), withZK("", 3, 4, 5), "id 3 is already a member"},
		{"handover of a shared ensemble", zkSnapshot("/b"), withZK(plans.ZKModeHandover, 4, 5, 6), "use mode fork"},
		{"even number of targets", zkSnapshot(), withZK("", 4, 5), "use an odd number"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Build(Input{Snapshot: tc.snap, Mapping: mapping([]int32{1, 2, 3}, []int32{11, 12, 13}, tc.edit)})
			if !errors.Is(err, plans.ErrBadInput) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want bad input containing %q", err, tc.want)
			}
		})
	}
}
