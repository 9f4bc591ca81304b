#!/usr/bin/env node
/**
 * The `dmasim` command (package.json `bin`): `dmasim stress …` runs a stress campaign,
 * `dmasim merge …` merges its shard reports, `dmasim explore …` searches a scenario's schedules
 * for a violation and saves a shrunk reproducer, `dmasim replay REPORT.json` runs a deterministic
 * run again to its first violation, `dmasim demo` narrates the DDK seed scenario
 * (`npm start`). Exit codes: 0 clean, 1 failed, 2 usage error.
 */

const USAGE = `usage: dmasim <command> [flags]

  stress   run a stress campaign (dmasim stress --help)
  merge    merge the shard reports of a campaign (dmasim merge --help)
  explore  run a scenario under many schedules, shrink the first violation (dmasim explore --help)
  replay   run a deterministic run's report again, to its first violation (dmasim replay --help)
  demo     the DDK seed scenario, narrated (npm start)`;

async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'stress':
      return (await import('./stress.js')).stressCommand(rest);
    case 'merge':
      return (await import('./merge.js')).mergeCommand(rest);
    case 'explore':
      return (await import('./explore.js')).exploreCommand(rest);
    case 'replay':
      return (await import('./replay.js')).replayCommand(rest);
    case 'demo':
      process.argv = [process.argv[0]!, process.argv[1]!, ...rest];
      await import('./demo.js');
      return 0;
    case undefined:
      process.stderr.write(`${USAGE}\n`);
      return 2;
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return 0;
    default:
      process.stderr.write(`dmasim: unknown command "${command}" (stress, merge, explore, replay, demo)\n`);
      return 2;
  }
}

const code = await main(process.argv.slice(2));
process.exitCode = code;
// Everything the command started has ended; if something still holds the event loop, do not hang.
setTimeout(() => process.exit(code), 2000).unref();
