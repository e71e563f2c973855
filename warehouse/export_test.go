package warehouse

// SetMaxKeepList lowers the number of ids a load spells out, for a test;
// it returns the function that restores it.
func SetMaxKeepList(n int) (restore func()) {
	old := maxKeepList
	maxKeepList = n
	return func() { maxKeepList = old }
}
