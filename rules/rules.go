// Package rules embeds atrest's Rego rule tree, so every binary carries the
// rules it evaluates. Each rule lives in <service>/<rule>.rego with its tests
// beside it in <rule>_test.rego.
package rules

import "embed"

// FS holds every .rego file below this folder, tests included; loaders skip
// files ending in _test.rego.
//
//go:embed */*.rego
var FS embed.FS
