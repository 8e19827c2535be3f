package scoring

// SetBeforeCommit sets a function every rescore batch runs inside its
// transaction after its writes, while it holds its locks (tests).
func (s *Service) SetBeforeCommit(fn func()) { s.beforeCommit = fn }

// SetSliceSize sets how many records a job slice is meant to hold, so that
// tests get several slices from few records.
func (s *Service) SetSliceSize(n int) { s.sliceSize = n }
