package main

import (
	"fmt"

	"github.com/urfave/cli/v2"
)

// Shells kshift prints a completion script for.
const (
	shellBash = "bash"
	shellZsh  = "zsh"
	shellFish = "fish"
)

func newCompletionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh or fish",
		ArgsUsage: "bash|zsh|fish",
		Description: `Prints a script that completes kshift's commands, subcommands and flags.
Load it into the running shell, or install it once:

  bash:  source <(kshift completion bash)
         kshift completion bash > ~/.local/share/bash-completion/completions/kshift
  zsh:   source <(kshift completion zsh)
         kshift completion zsh > "${fpath[1]}/_kshift"    (then start a new shell)
  fish:  kshift completion fish | source
         kshift completion fish > ~/.config/fish/completions/kshift.fish

The bash and zsh scripts ask the kshift binary itself which words fit (it
answers when the last argument is --generate-bash-completion, and runs
nothing); fish's script lists the command tree of this kshift, so print it
again after an upgrade. Where nothing fits, file names are offered.`,
		Action: runCompletion,
	}
}

func runCompletion(c *cli.Context) error {
	if err := requireArgs(c, 1, "one shell: bash, zsh or fish"); err != nil {
		return err
	}
	var script string
	switch shell := c.Args().First(); shell {
	case shellBash:
		script = bashCompletion
	case shellZsh:
		script = zshCompletion
	case shellFish:
		// Rendered from a fresh tree: the running app has been set up,
		// and its added help and version flags would be listed twice.
		s, err := newApp().ToFishCompletion()
		if err != nil {
			return fmt.Errorf("render the fish completion script: %w", err)
		}
		script = s
	default:
		return usageError{fmt.Sprintf("completion: unknown shell %q: want bash, zsh or fish", shell)}
	}
	_, err := fmt.Fprint(c.App.Writer, script)
	return err
}

// bashCompletion completes kshift in bash. It hands the words before the
// cursor (and the current word when it starts a flag) to kshift with
// --generate-bash-completion appended, which makes kshift print the
// subcommands or flags that may follow, one per line, and run nothing. Two
// things it must never do: eval the command line (a $(...) the user typed
// would run on TAB), and ask kshift once "--" has been typed (urfave/cli turns
// completion mode off after "--", so the command would really run).
const bashCompletion = `# bash completion for kshift (kshift completion bash)

_kshift_complete() {
    local cur=${COMP_WORDS[COMP_CWORD]}
    local -a before=("${COMP_WORDS[@]:0:COMP_CWORD}")
    local w
    for w in "${before[@]}"; do
        # Only arguments follow "--"; the default (file names) applies.
        [[ $w == -- ]] && return 0
    done
    local -a ask=("${before[@]:1}")
    if [[ $cur == -- ]]; then
        ask+=(-)
    elif [[ $cur == -* ]]; then
        ask+=("$cur")
    fi
    local answer
    answer=$("${before[0]}" "${ask[@]}" --generate-bash-completion 2>/dev/null) || return 0
    # Every command answers with its generated "help" subcommand (and its
    # alias "h") too; offer file names rather than those after a command.
    local -a words=() fitting=()
    mapfile -t words < <(compgen -W "$answer" -- "$cur")
    for w in "${words[@]}"; do
        [[ $w == help || $w == h ]] || fitting+=("$w")
    done
    COMPREPLY=("${fitting[@]}")
    return 0
}

complete -o default -F _kshift_complete kshift
`

// zshCompletion completes kshift in zsh, asking the binary like the bash
// script does. It works both from a file named _kshift in $fpath (zsh then
// autoloads it as the completion function) and sourced directly.
const zshCompletion = `#compdef kshift
# zsh completion for kshift (kshift completion zsh)

_kshift_complete() {
    local -a before ask answer
    before=("${(@)words[1,CURRENT-1]}")
    # Only arguments follow "--": complete file names.
    if (( ${before[(Ie)--]} )); then
        _files
        return
    fi
    ask=("${(@)before[2,-1]}")
    local cur=${words[CURRENT]}
    if [[ $cur == -- ]]; then
        ask+=(-)
    elif [[ $cur == -* ]]; then
        ask+=("$cur")
    fi
    answer=("${(@f)$("${before[1]}" "${(@)ask}" --generate-bash-completion 2>/dev/null)}")
    # Drop empty lines and the generated "help" subcommand (and its alias
    # "h") every command answers with: file names are more use there.
    answer=("${(@)answer:#}")
    answer=("${(@)answer:#help}")
    answer=("${(@)answer:#h}")
    if (( ${#answer} )); then
        compadd -a answer
    else
        _files
    fi
}

if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then
    _kshift_complete "$@"
else
    compdef _kshift_complete kshift
fi
`
