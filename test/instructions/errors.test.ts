/**
 * Invalid instructions: every case's error as the user sees it (file:line:col, the line, a caret,
 * a hint), kept in a golden file so a change of wording or location shows up in review.
 * Regenerate with UPDATE_GOLDEN=1 and read the diff.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ContainerfileError, ErrorCodes } from '../../src/errors.js';
import { expectGolden } from '../helpers/golden.js';
import { failure, parse, thrown } from './helpers.js';

const golden = fileURLToPath(new URL('../../fixtures/containerfiles/instruction-errors.golden.txt', import.meta.url));

/** Each case is a whole Containerfile; most put the bad line under a FROM. */
const CASES: Array<[title: string, text: string]> = [
  // Flags (BuildKit BFlags rules)
  ['unknown flag, close to a known one', 'FROM scratch\nCOPY --frm=build a b\n'],
  ['unknown flag, transposed letters', 'FROM scratch\nCOPY --form=build a b\n'],
  ['unknown flag, nothing close', 'FROM scratch\nCOPY --zzzzzz a b\n'],
  ['unknown flag on ADD', 'FROM scratch\nADD --keep-git-dirs a b\n'],
  ['unknown flag on RUN', 'FROM scratch\nRUN --mnt=type=cache,target=/x true\n'],
  ['unknown flag on FROM', 'FROM --platfrom=linux/amd64 alpine\n'],
  ['unknown flag on HEALTHCHECK', 'FROM scratch\nHEALTHCHECK --intervl=5s CMD true\n'],
  ['a flag on an instruction that takes none', 'FROM scratch\nWORKDIR --parents /x\n'],
  ['a flag on ENV', 'FROM scratch\nENV --x=1 A=b\n'],
  ['COPY --from from ADD', 'FROM scratch\nADD --from=build a b\n'],
  ['string flag without a value', 'FROM scratch\nCOPY --chmod a b\n'],
  ['repeatable flag without a value', 'FROM scratch\nCOPY --exclude a b\n'],
  ['boolean flag with an empty value', 'FROM scratch\nCOPY --link= a b\n'],
  ['boolean flag with a non-boolean value', 'FROM scratch\nCOPY --link=maybe a b\n'],
  ['duplicate flag', 'FROM scratch\nCOPY --from=a --from=b x y\n'],
  ['duplicate boolean flag', 'FROM scratch\nCOPY --link --link=false x y\n'],
  ['flag on a continuation line', 'FROM scratch\nCOPY --chown=1:1 \\\n     --chmd=644 a b\n'],
  // Unknown instructions
  ['unknown instruction, misspelt', 'FROM scratch\nCOPPY a b\n'],
  ['unknown instruction before FROM', 'FORM alpine\n'],
  ['unknown instruction, lowercase', 'FROM scratch\nwrkdir /x\n'],
  ['unknown instruction, nothing close', 'FROM scratch\nFROBNICATE x\n'],
  // FROM
  ['FROM with no arguments', 'FROM\n'],
  ['FROM with two arguments', 'FROM alpine latest\n'],
  ['FROM with four arguments', 'FROM alpine AS a b\n'],
  ['FROM AS with a stage name starting with a digit', 'FROM alpine AS 9lives\n'],
  ['FROM AS with a symbol in the stage name', 'FROM alpine AS my/stage\n'],
  // Argument counts and shapes
  ['COPY with one argument', 'FROM scratch\nCOPY onlysource\n'],
  ['ADD with no arguments', 'FROM scratch\nADD\n'],
  ['COPY with a heredoc as destination', 'FROM scratch\nCOPY a <<EOF\nx\nEOF\n'],
  ['ENV with no arguments', 'FROM scratch\nENV\n'],
  ['ENV with a blank name', 'FROM scratch\nENV =value\n'],
  ['LABEL with no arguments', 'FROM scratch\nLABEL\n'],
  ['MAINTAINER with no arguments', 'FROM scratch\nMAINTAINER\n'],
  ['EXPOSE with no arguments', 'FROM scratch\nEXPOSE\n'],
  ['VOLUME with no arguments', 'FROM scratch\nVOLUME\n'],
  ['VOLUME with an empty path', 'FROM scratch\nVOLUME ["/data", " "]\n'],
  ['USER with no arguments', 'FROM scratch\nUSER\n'],
  ['WORKDIR with no arguments', 'FROM scratch\nWORKDIR\n'],
  ['STOPSIGNAL with no arguments', 'FROM scratch\nSTOPSIGNAL\n'],
  ['ARG with no arguments', 'FROM scratch\nARG\n'],
  ['ARG with a blank name', 'FROM scratch\nARG =1\n'],
  ['SHELL in shell form', 'FROM scratch\nSHELL /bin/bash -c\n'],
  ['SHELL with an empty array', 'FROM scratch\nSHELL []\n'],
  ['RUN with no arguments', 'FROM scratch\nRUN\n'],
  ['RUN with an empty array', 'FROM scratch\nRUN []\n'],
  // ONBUILD
  ['ONBUILD with no trigger', 'FROM scratch\nONBUILD\n'],
  ['ONBUILD ONBUILD', 'FROM scratch\nONBUILD ONBUILD RUN true\n'],
  ['ONBUILD FROM', 'FROM scratch\nONBUILD FROM alpine\n'],
  ['ONBUILD MAINTAINER', 'FROM scratch\nONBUILD MAINTAINER me\n'],
  ['ONBUILD with an invalid trigger', 'FROM scratch\nONBUILD COPPY a b\n'],
  ['ONBUILD with a bad flag in the trigger', 'FROM scratch\nONBUILD COPY --frm=x a b\n'],
  // HEALTHCHECK
  ['HEALTHCHECK with no arguments', 'FROM scratch\nHEALTHCHECK\n'],
  ['HEALTHCHECK NONE with arguments', 'FROM scratch\nHEALTHCHECK NONE now\n'],
  ['HEALTHCHECK NONE with flags', 'FROM scratch\nHEALTHCHECK --interval=5s NONE\n'],
  ['HEALTHCHECK CMD with no command', 'FROM scratch\nHEALTHCHECK CMD\n'],
  ['HEALTHCHECK CMD with an empty array', 'FROM scratch\nHEALTHCHECK CMD []\n'],
  ['HEALTHCHECK of an unknown type', 'FROM scratch\nHEALTHCHECK PING localhost\n'],
  ['HEALTHCHECK duration without a unit', 'FROM scratch\nHEALTHCHECK --interval=5 CMD true\n'],
  ['HEALTHCHECK duration with an unknown unit', 'FROM scratch\nHEALTHCHECK --timeout=5d CMD true\n'],
  ['HEALTHCHECK duration that is not one', 'FROM scratch\nHEALTHCHECK --start-period=soon CMD true\n'],
  ['HEALTHCHECK duration below 1ms', 'FROM scratch\nHEALTHCHECK --start-interval=10us CMD true\n'],
  ['HEALTHCHECK negative duration', 'FROM scratch\nHEALTHCHECK --interval=-1s CMD true\n'],
  ['HEALTHCHECK negative retries', 'FROM scratch\nHEALTHCHECK --retries=-1 CMD true\n'],
  ['HEALTHCHECK retries not a number', 'FROM scratch\nHEALTHCHECK --retries=three CMD true\n'],
  ['HEALTHCHECK retries beyond int32', 'FROM scratch\nHEALTHCHECK --retries=4294967296 CMD true\n'],
  // RUN flags
  ['RUN --network with an unknown mode', 'FROM scratch\nRUN --network=bridge true\n'],
  ['RUN --security with an unknown mode', 'FROM scratch\nRUN --security=privileged true\n'],
  ['RUN --network without a value', 'FROM scratch\nRUN --network true\n'],
  ['mount of an unknown type', 'FROM scratch\nRUN --mount=type=cach,target=/x true\n'],
  ['mount type nothing like a known one', 'FROM scratch\nRUN --mount=type=volume,target=/x true\n'],
  ['mount with an unknown key', 'FROM scratch\nRUN --mount=type=bind,tagret=/x true\n'],
  ['mount field without =', 'FROM scratch\nRUN --mount=type=bind,target=/x,shared true\n'],
  ['mount with a bad boolean', 'FROM scratch\nRUN --mount=type=bind,target=/x,readonly=maybe true\n'],
  ['mount with bad sharing', 'FROM scratch\nRUN --mount=type=cache,target=/x,sharing=public true\n'],
  ['mount sharing on a bind mount', 'FROM scratch\nRUN --mount=type=bind,target=/x,sharing=locked true\n'],
  ['mount mode that is not octal', 'FROM scratch\nRUN --mount=type=cache,target=/x,mode=0999 true\n'],
  ['mount uid that is not a number', 'FROM scratch\nRUN --mount=type=cache,target=/x,uid=root true\n'],
  ['mount mode on a bind mount', 'FROM scratch\nRUN --mount=type=bind,target=/x,mode=0755 true\n'],
  ['mount uid on a tmpfs mount', 'FROM scratch\nRUN --mount=type=tmpfs,target=/x,uid=1 true\n'],
  ['mount size on a cache mount', 'FROM scratch\nRUN --mount=type=cache,target=/x,size=1g true\n'],
  ['mount size that is not a size', 'FROM scratch\nRUN --mount=type=tmpfs,target=/x,size=lots true\n'],
  ['mount required on a bind mount', 'FROM scratch\nRUN --mount=type=bind,target=/x,required true\n'],
  ['mount env on a cache mount', 'FROM scratch\nRUN --mount=type=cache,target=/x,env=X true\n'],
  ['bind mount without a target', 'FROM scratch\nRUN --mount=type=bind,source=a true\n'],
  ['tmpfs mount without a target', 'FROM scratch\nRUN --mount=type=tmpfs true\n'],
  ['secret mount without id or target', 'FROM scratch\nRUN --mount=type=secret,required true\n'],
  ['secret mount with from', 'FROM scratch\nRUN --mount=type=secret,id=a,from=build true\n'],
  ['secret mount with source and id', 'FROM scratch\nRUN --mount=type=secret,id=a,source=b true\n'],
  ['mount from with a variable', 'FROM scratch\nRUN --mount=type=bind,target=/x,from=$STAGE true\n'],
  // The flag extractor removes quotes (as BuildKit's does), so only escaped quotes reach the CSV reader.
  ['mount with a bare quote', 'FROM scratch\nRUN --mount=type=bind,target=/a\\"b true\n'],
  ['mount with an unterminated quoted field', 'FROM scratch\nRUN --mount=\\"type=bind,target=/x true\n'],
  ['the second of several mounts is wrong', 'FROM scratch\nRUN --mount=type=cache,target=/a \\\n    --mount=type=cache,target=/b,sharing=no true\n'],
  // Stages
  ['an instruction before the first FROM', 'ARG A=1\nRUN echo $A\nFROM scratch\n'],
  ['duplicate stage names', 'FROM alpine AS build\nRUN true\nFROM alpine AS Build\n'],
];

function render(): string {
  return CASES.map(([title, text]) => `### ${title}\n${text}--- error\n${failure(() => parse(text))}\n`).join('\n');
}

describe('instruction errors', () => {
  it('reports every invalid case with a located message (golden)', () => {
    expectGolden(render(), golden);
  });

  it('throws ContainerfileErrors with a location in the file', () => {
    for (const [, text] of CASES) {
      const caught = thrown(() => parse(text));
      expect(caught).toBeInstanceOf(ContainerfileError);
      const e = caught as ContainerfileError;
      expect(e.location.file).toBe('Containerfile');
      expect(e.location.line).toBeGreaterThan(0);
      expect(e.location.lineText).toBeDefined();
    }
  });

  it('suggests the close flag or instruction', () => {
    expect(failure(() => parse('FROM scratch\nCOPY --frm=x a b\n'))).toContain('hint: did you mean --from?');
    expect(failure(() => parse('FROM scratch\nCOPY --form=x a b\n'))).toContain('hint: did you mean --from?');
    expect(failure(() => parse('FROM scratch\nADD --checksun=x a b\n'))).toContain('hint: did you mean --checksum?');
    expect(failure(() => parse('FROM scratch\nRUN --netwrok=none true\n'))).toContain('hint: did you mean --network?');
    expect(failure(() => parse('FROM scratch\nCOPPY a b\n'))).toContain('hint: did you mean COPY?');
    expect(failure(() => parse('FROM scratch\nENTRYPONT ["x"]\n'))).toContain('hint: did you mean ENTRYPOINT?');
    expect(failure(() => parse('FROM scratch\nrnu true\n'))).toContain('hint: did you mean RUN?');
    expect(failure(() => parse('FROM scratch\nRUN --mount=type=cahce,target=/x true\n'))).toContain('hint: did you mean cache?');
    expect(failure(() => parse('FROM scratch\nRUN --mount=type=cache,traget=/x true\n'))).toContain('hint: did you mean target?');
  });

  it('classifies syntax and semantic errors', () => {
    const code = (text: string) => (thrown(() => parse(text)) as ContainerfileError).code;
    expect(code('FROM scratch\nCOPY --frm=x a b\n')).toBe(ErrorCodes.syntax);
    expect(code('FROM scratch\nCOPPY a b\n')).toBe(ErrorCodes.syntax);
    expect(code('FROM scratch\nCOPY a\n')).toBe(ErrorCodes.syntax);
    expect(code('FROM a AS 1x\n')).toBe(ErrorCodes.semantic);
    expect(code('FROM scratch\nRUN --mount=type=cache,target=/x,sharing=no true\n')).toBe(ErrorCodes.semantic);
  });
});
