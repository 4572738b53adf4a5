package trigger

// Detect is detect, for the differential test (package trigger_test).
var Detect = detect
