/** `portcullis completion bash|zsh`: a completion script for the shell, built from the command table. */
import { EXIT, usageError } from './common';

export const usage = `usage: portcullis completion bash|zsh

Prints a completion script. bash: source <(portcullis completion bash), or save it under
/etc/bash_completion.d/. zsh: portcullis completion zsh > "\${fpath[1]}/_portcullis".
`;

/** Options most commands take, offered after the command name. */
const COMMON = ['--help', '--server', '--profile', '--output'];

export function bash(commands: Record<string, string[]>): string {
  const cases = Object.entries(commands).map(([c, opts]) => `    ${c}) opts="${[...opts, ...COMMON].join(' ')}" ;;`).join('\n');
  return `# bash completion for portcullis
_portcullis() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" opts
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${Object.keys(commands).join(' ')} --help --version" -- "$cur") ); return
  fi
  case "$prev" in
    --output|-o) COMPREPLY=( $(compgen -W "text json table" -- "$cur") ); return ;;
  esac
  case "\${COMP_WORDS[1]}" in
${cases}
    *) opts="${COMMON.join(' ')}" ;;
  esac
  COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
}
complete -o default -F _portcullis portcullis
`;
}

export function zsh(commands: Record<string, string[]>): string {
  const cases = Object.entries(commands).map(([c, opts]) => `    ${c}) opts=(${[...opts, ...COMMON].join(' ')}) ;;`).join('\n');
  return `#compdef portcullis
# zsh completion for portcullis
_portcullis() {
  local -a opts
  if (( CURRENT == 2 )); then
    compadd -- ${Object.keys(commands).join(' ')} --help --version; return
  fi
  if [[ \${words[CURRENT-1]} == (--output|-o) ]]; then compadd -- text json table; return; fi
  case \${words[2]} in
${cases}
    *) opts=(${COMMON.join(' ')}) ;;
  esac
  compadd -- $opts
  _files
}
compdef _portcullis portcullis 2>/dev/null || _portcullis "$@"
`;
}

export function runWith(commands: Record<string, string[]>) {
  return async (argv: string[]): Promise<number> => {
    const [shell] = argv;
    if (shell === 'bash') process.stdout.write(bash(commands));
    else if (shell === 'zsh') process.stdout.write(zsh(commands));
    else throw usageError('completion', shell ? `no completion for '${shell}' (bash or zsh)` : 'name the shell: bash or zsh');
    return EXIT.OK;
  };
}
