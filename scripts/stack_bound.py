#!/usr/bin/env python3
"""Worst-case stack of a function in an Arm Cortex-M ELF, from its machine code.

For every function, the frame is what its instructions take from the stack pointer: `push`
(4 bytes per register), `vpush` (4 per s-register, 8 per d-register) and `sub sp`
(immediate, or a register loaded from the literal pool, as thumbv6m does for large frames).
All of them are summed, wherever they are in the function, which over-counts a function that
sets up its frame on two paths (never under-counts). Calls are `bl`/`blx` to a label and
branches to the first instruction of another function (tail calls). The bound of a function is
its frame plus the largest bound of its callees.

The bound is `None` (unknown) if the call tree holds an indirect call (`blx rN`, `bx rN` with
N != lr), recursion, or an instruction that moves the stack pointer in a way not listed above.
Panics are left out: a call into `core::panicking` ends the program (the firmware's panic
handler prints through `core::fmt`, whose calls are indirect).

Usage (prints the bound and the deepest path):

    scripts/stack_bound.py ELF FUNCTION_REGEX
"""

from __future__ import annotations

import re
import struct
import subprocess
import sys
from dataclasses import dataclass, field

FUNC = re.compile(r"^([0-9a-f]+) <(.+)>:$")
INSN = re.compile(r"^\s*([0-9a-f]+):\s+(\S+)\s*(.*)$")
TARGET = re.compile(r"^(?:0x)?([0-9a-f]+) <(.+?)(\+0x[0-9a-f]+)?>(?:\s+@.*)?$")
REGLIST = re.compile(r"\{([^}]*)\}")
LITERAL = re.compile(r"\[pc, #(-?(?:0x)?[0-9a-f]+)\]")


@dataclass
class Function:
    name: str
    addr: int
    frame: int = 0
    calls: set[str] = field(default_factory=set)
    indirect: bool = False
    unknown_sp: list[str] = field(default_factory=list)


def reg_count(regs: str) -> int:
    """Registers in an ARM register list such as `r4, r5, r8-r11, lr` or `d8-d15`."""
    n = 0
    for part in regs.split(","):
        part = part.strip()
        if "-" in part:
            a, b = part.split("-")
            n += int(re.sub(r"\D", "", b)) - int(re.sub(r"\D", "", a)) + 1
        elif part:
            n += 1
    return n


def imm(text: str) -> int:
    text = text.strip().lstrip("#")
    return int(text, 16) if text.lower().startswith(("0x", "-0x")) else int(text)


def read_word(elf_bytes: bytes, sections, addr: int) -> int | None:
    for start, size, offset in sections:
        if start <= addr and addr + 4 <= start + size:
            return struct.unpack_from("<I", elf_bytes, offset + addr - start)[0]
    return None


def load_sections(elf_bytes: bytes) -> list[tuple[int, int, int]]:
    """(address, size, file offset) of the PROGBITS sections of a little-endian ELF32."""
    if elf_bytes[:4] != b"\x7fELF" or elf_bytes[4] != 1 or elf_bytes[5] != 1:
        raise ValueError("not a little-endian ELF32 file")
    shoff, = struct.unpack_from("<I", elf_bytes, 0x20)
    shentsize, shnum = struct.unpack_from("<HH", elf_bytes, 0x2E)
    secs = []
    for i in range(shnum):
        _, sh_type, _, addr, offset, size = struct.unpack_from("<IIIIII", elf_bytes, shoff + i * shentsize)
        if sh_type == 1 and addr:  # SHT_PROGBITS, loaded
            secs.append((addr, size, offset))
    return secs


def parse(elf: str, objdump: str) -> dict[str, Function]:
    text = subprocess.run(
        [objdump, "-d", "--no-show-raw-insn", "-C", elf], capture_output=True, text=True, check=True
    ).stdout
    elf_bytes = open(elf, "rb").read()
    sections = load_sections(elf_bytes)
    funcs: dict[str, Function] = {}
    cur: Function | None = None
    body: list[tuple[int, str, str]] = []

    def finish():
        if cur is not None:
            analyse(cur, body, elf_bytes, sections)

    for line in text.splitlines():
        m = FUNC.match(line)
        if m:
            finish()
            cur = Function(m.group(2), int(m.group(1), 16))
            funcs[cur.name] = cur
            body = []
            continue
        m = INSN.match(line)
        if m and cur is not None:
            body.append((int(m.group(1), 16), m.group(2), m.group(3)))
    finish()
    return funcs


def analyse(f: Function, body, elf_bytes, sections) -> None:
    loaded: dict[str, int] = {}  # register -> literal-pool word loaded into it
    for addr, op, args in body:
        base = op.split(".")[0]
        if base in ("push", "stmdb") and (base == "push" or args.startswith("sp!")):
            m = REGLIST.search(args)
            f.frame += 4 * reg_count(m.group(1)) if m else 0
        elif base == "vpush":
            m = REGLIST.search(args)
            if m:
                size = 8 if m.group(1).strip().startswith("d") else 4
                f.frame += size * reg_count(m.group(1))
        elif base in ("sub", "subw") and args.startswith("sp,"):
            parts = [p.strip() for p in args.split(",")]
            if parts[-1].startswith("#"):
                f.frame += imm(parts[-1])
            elif parts[-1] in loaded:
                f.frame += loaded[parts[-1]]
            else:
                f.unknown_sp.append(f"{addr:x}: {op} {args}")
        elif base == "add" and args.startswith("sp,") and not args.replace(" ", "").startswith("sp,sp,#") \
                and not re.match(r"sp,\s*#", args):
            # thumbv6m: `ldr rN, [pc, #k]` (a negative constant) then `add sp, rN`.
            reg = args.split(",")[-1].strip()
            value = loaded.get(reg)
            if value is not None and value >= 0x8000_0000:
                f.frame += (1 << 32) - value
            elif value is None:
                f.unknown_sp.append(f"{addr:x}: {op} {args}")
        elif base == "ldr":
            m = LITERAL.search(args)
            reg = args.split(",")[0].strip()
            if m:
                lit = ((addr + 4) & ~3) + imm(m.group(1))
                w = read_word(elf_bytes, sections, lit)
                if w is not None:
                    loaded[reg] = w
            else:
                loaded.pop(reg, None)
        elif base in ("mov", "mov.w") and args.startswith("sp,"):
            pass  # restoring sp from the frame pointer (epilogue)
        if base in ("bl", "blx"):
            m = TARGET.match(args)
            if m and m.group(2) == f.name:
                pass  # thumbv6m: a `bl` is also the long branch inside a function
            elif m:
                f.calls.add(m.group(2) if not m.group(3) else f"?{m.group(2)}{m.group(3)}")
            else:
                f.indirect = True
        elif base == "bx" and args.strip() != "lr":
            f.indirect = True
        elif base in ("b", "bl") or re.fullmatch(r"b(eq|ne|hs|lo|hi|ls|ge|lt|gt|le|mi|pl|cs|cc)?", base):
            m = TARGET.match(args)
            if m and not m.group(3) and m.group(2) != f.name:
                f.calls.add(m.group(2))  # tail call


def bound(funcs: dict[str, Function], root: str) -> tuple[int | None, list[str], str]:
    """The worst-case stack of `root` and its deepest path; `None` and a reason if unknown."""
    memo: dict[str, tuple[int | None, list[str], str]] = {}
    visiting: set[str] = set()

    def go(name: str):
        if name in memo:
            return memo[name]
        if name.startswith("core::panicking::"):
            return 0, [], ""
        f = funcs.get(name)
        if f is None:
            return None, [name], f"call into the middle of a function ({name})"
        if name in visiting:
            return None, [name], f"recursion through {name}"
        if f.indirect:
            return None, [name], f"indirect call in {name}"
        if f.unknown_sp:
            return None, [name], f"unrecognised stack adjustment in {name}: {f.unknown_sp[0]}"
        visiting.add(name)
        best, path, why = 0, [], ""
        for c in sorted(f.calls):
            b, p, w = go(c)
            if b is None:
                visiting.discard(name)
                memo[name] = (None, [name] + p, w)
                return memo[name]
            if b > best:
                best, path = b, p
        visiting.discard(name)
        memo[name] = (f.frame + best, [name] + path, why)
        return memo[name]

    return go(root)


def bound_by_regex(elf: str, pattern: str, objdump: str):
    funcs = parse(elf, objdump)
    names = [n for n in funcs if re.search(pattern, n)]
    if len(names) != 1:
        raise ValueError(f"{pattern!r} matches {len(names)} functions: {names[:5]}")
    return bound(funcs, names[0]), funcs


def main() -> int:
    import shutil
    from pathlib import Path

    if len(sys.argv) != 3:
        sys.exit(__doc__)
    sysroot = subprocess.run(["rustc", "--print", "sysroot"], capture_output=True, text=True).stdout.strip()
    bin_dir = next(Path(sysroot, "lib", "rustlib").glob("*/bin"))
    objdump = str(bin_dir / "llvm-objdump") if (bin_dir / "llvm-objdump").exists() else shutil.which("llvm-objdump")
    (b, path, why), funcs = bound_by_regex(sys.argv[1], sys.argv[2], objdump)
    if b is None:
        print(f"unknown: {why}")
        print(" -> ".join(path))
        return 1
    print(f"{b} bytes")
    for name in path:
        print(f"  {funcs[name].frame:6} {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
