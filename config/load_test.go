package config_test

import (
	"github.com/devpulse/devpulse/collectors"
	. "github.com/devpulse/devpulse/config"
)

// load is Load as cmd/ calls it: with every registered source type.
func load(o Options) (*Config, error) {
	o.Kinds = collectors.Kinds()
	return Load(o)
}
