// Package plans owns kshift's file formats: the cluster snapshot, the mapping a
// person writes, and the migration plan (with its derived rollback plan and its
// Kafka reassignment JSON form). It defines the types, strict loading (an
// unknown field is an error), collect-all validation with locations, stable
// marshalling, and the plan invariant checker shared by the planner, the
// executor and `kshift plan validate`.
//
// It must not talk to the network or import any package that does: it is
// imported by everything else, including the pure planner.
package plans
