package review

import (
	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/channel/builtin/email"
	"github.com/relais-dev/relais/internal/channel/builtin/print"
	"github.com/relais-dev/relais/internal/channel/builtin/sms"
)

// The content blocks of the built-in channels a step carries (nil when
// absent); the checks read their templates.

func emailOf(st *campaign.Step) *email.Content {
	c, _ := st.Content[email.Name].(*email.Content)
	return c
}

func textOf(st *campaign.Step, ch string) *sms.Content {
	c, _ := st.Content[ch].(*sms.Content)
	return c
}

func letterOf(st *campaign.Step) *print.Content {
	c, _ := st.Content[print.Name].(*print.Content)
	return c
}
