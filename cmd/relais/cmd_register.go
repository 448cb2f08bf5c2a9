package main

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/relais-dev/relais/internal/campaign"
	"github.com/relais-dev/relais/internal/catalog"
	"github.com/relais-dev/relais/internal/register"
)

func (a *app) registerCmd() *cobra.Command {
	var lang string
	cmd := &cobra.Command{
		Use:   "register [--lang fr|en] [PATH…]",
		Short: "Write the record of processing activities (GDPR art. 30) of the campaigns, in Markdown or JSON",
		Long: `register writes the record of processing activities (GDPR article 30,
after the CNIL template) of the campaigns under the paths (default: the
campaigns folder): purposes, the legal basis of each step, the contact
fields the templates and expressions actually use, data subjects,
recipients, channels, the processors the configuration sends through
(described by its register section), transfers outside the EU, retention
periods and security measures. French by default.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if !slices.Contains(register.Langs, lang) {
				return userErrorf("--lang: %q is not one of %v", lang, register.Langs)
			}
			if len(args) == 0 {
				args = []string{a.cfg.CampaignsDir}
			}
			files, err := catalog.Files(args...)
			if err != nil {
				return userErr(err)
			}
			l, err := a.loader()
			if err != nil {
				return err
			}
			var specs []*campaign.Spec
			for _, f := range files {
				sp, err := l.Load(f)
				if err != nil {
					return userErr(fmt.Errorf("%w\n(run relais validate)", err))
				}
				specs = append(specs, sp)
			}
			rec := register.Build(specs, a.cfg, lang)
			if a.jsonOut {
				return register.WriteJSON(a.stdout, rec)
			}
			return register.WriteMarkdown(a.stdout, rec)
		},
	}
	cmd.Flags().StringVar(&lang, "lang", "fr", "language of the record: fr or en")
	return cmd
}
