package aiassist

import "testing"

func TestRule_Assisted(t *testing.T) {
	r := Rule{Assistants: []string{"GitHub Copilot", "Claude", "Aider"}, Labels: []string{"ai-assisted"}, AgentAccounts: []string{"devin-*"}}
	cases := []struct {
		name     string
		messages []string
		labels   []string
		author   string
		want     bool
	}{
		{"copilot co-author", []string{"Fix login\n\nCo-authored-by: GitHub Copilot <175728472+Copilot@users.noreply.github.com>"}, nil, "ann", true},
		{"claude by email, any case", []string{"x\n\nco-authored-by: someone <noreply@anthropic.com>\nCO-AUTHORED-BY: Claude <noreply@anthropic.com>"}, nil, "ann", true},
		{"assisted-by names anything", []string{"x\n\nAssisted-by: an internal model"}, nil, "ann", true},
		{"generated-by", []string{"x\n\nGenerated-by: tool"}, nil, "ann", true},
		{"a human co-author", []string{"x\n\nCo-authored-by: Jane Doe <jane@acme.example>"}, nil, "ann", false},
		{"the word in the subject only", []string{"Make Copilot suggestions optional"}, nil, "ann", false},
		{"label", nil, []string{"AI-Assisted"}, "ann", true},
		{"agent account", nil, nil, "devin-ai-integration", true},
		{"no empty author matches", nil, nil, "", false},
	}
	for _, c := range cases {
		if got := r.Assisted(c.messages, c.labels, c.author); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func FuzzAssisted(f *testing.F) {
	f.Add("x\n\nCo-authored-by: Claude <a@b>", "ai-assisted", "devin-1")
	f.Fuzz(func(t *testing.T, msg, label, author string) {
		r := Rule{Assistants: []string{"Claude"}, Labels: []string{"ai"}, AgentAccounts: []string{"[", "devin-*"}}
		_ = r.Assisted([]string{msg}, []string{label}, author) // never panics, even on a bad pattern
	})
}
