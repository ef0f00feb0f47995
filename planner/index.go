package planner

// idIndex maps broker ids to small indexes. Broker ids are small numbers in
// practice, so they index a slice directly (map lookups dominated the
// planner's profile); ids beyond denseIDs fall back to a map.
type idIndex struct {
	dense  []int32
	sparse map[int32]int
}

const denseIDs = 1 << 16

func (x *idIndex) set(id int32, i int) {
	if id >= 0 && id < denseIDs {
		for int(id) >= len(x.dense) {
			x.dense = append(x.dense, -1)
		}
		x.dense[id] = int32(i)
		return
	}
	if x.sparse == nil {
		x.sparse = map[int32]int{}
	}
	x.sparse[id] = i
}

// at returns id's index, or -1 when id was never set.
func (x *idIndex) at(id int32) int {
	if id >= 0 && id < denseIDs {
		if int(id) < len(x.dense) {
			return int(x.dense[id])
		}
		return -1
	}
	if i, ok := x.sparse[id]; ok {
		return i
	}
	return -1
}

func (x *idIndex) has(id int32) bool { return x.at(id) >= 0 }
