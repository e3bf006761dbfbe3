/* libprofile.so: guest instructions per function between `bench_start()` and `bench_stop()`,
 * summed over all measured regions (one region = one inference in tinyconv's firmware), and,
 * optionally, per call tree of named functions (the layers of a model).
 * usage: -plugin ./libprofile.so,start=0xADDR,stop=0xADDR,syms=FILE[,scopes=FILE] -d plugin
 * syms FILE: one function per line, "ADDR SIZE NAME" (hex, hex, text), as `llvm-nm -C -S` gives.
 * scopes FILE: one function per line, "ADDR LABEL" (hex, text without spaces). A call of such a
 * function opens a scope with its label; everything executed until control is back in the
 * function that made the call (its return, or a tail call's return) counts for the scope,
 * callees included. Scopes nest: counts are per path of labels ("conv1/pool"), exclusive of
 * inner scopes; instructions in no scope count for the path "-".
 * Attribution is by the translated block's first instruction (a block never spans two
 * functions: calls and returns end blocks). Marker bodies are not counted. Single vCPU.
 * Built and run by scripts/firmware_profile.sh and scripts/firmware_report.py. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <qemu-plugin.h>

QEMU_PLUGIN_EXPORT int qemu_plugin_version = QEMU_PLUGIN_VERSION;

typedef struct {
    uint64_t lo, hi;
    char name[200];
    uint64_t count;
} Sym;

typedef struct {
    Sym *sym; /* NULL: no symbol covers the block */
    uint64_t insns;
    int scope; /* index into scopes if the block starts a scope function, else -1 */
} Block;

/* Scope functions (entry address, label). */
typedef struct {
    uint64_t pc;
    char label[64];
} Scope;

/* An open scope: its label and the function that called it. */
typedef struct {
    int scope;
    Sym *caller;
} Frame;

/* Instructions per path of open scopes ("conv1/pool"). */
typedef struct {
    char path[256];
    uint64_t count;
} Path;

#define MAX_DEPTH 8
#define MAX_PATHS 64
static Scope *scopes;
static size_t nscopes;
static Frame stack[MAX_DEPTH];
static int depth;
static Path paths[MAX_PATHS];
static size_t npaths;
static Path *current; /* the path of the open scopes */
static Sym *prev_sym;
static uint64_t dropped; /* instructions of paths beyond MAX_PATHS or MAX_DEPTH */

static Sym *syms;
static size_t nsyms;
static uint64_t start_pc, stop_pc, regions, unknown;
static int counting;

static int by_address(const void *a, const void *b)
{
    const Sym *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int by_count(const void *a, const void *b)
{
    const Sym *x = a, *y = b;
    return x->count < y->count ? 1 : x->count > y->count ? -1 : 0;
}

static Sym *find(uint64_t pc)
{
    size_t lo = 0, hi = nsyms;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (syms[mid].hi <= pc) lo = mid + 1; else hi = mid;
    }
    return lo < nsyms && syms[lo].lo <= pc && pc < syms[lo].hi ? &syms[lo] : NULL;
}

/* The Path entry for the current stack of scopes (created on first use). */
static Path *path_of_stack(void)
{
    char buf[256];
    size_t n = 0;
    buf[0] = 0;
    if (depth == 0) snprintf(buf, sizeof buf, "-");
    for (int i = 0; i < depth; i++)
        n += snprintf(buf + n, sizeof buf - n, "%s%s", i ? "/" : "", scopes[stack[i].scope].label);
    for (size_t i = 0; i < npaths; i++)
        if (!strcmp(paths[i].path, buf)) return &paths[i];
    if (npaths == MAX_PATHS) return NULL;
    snprintf(paths[npaths].path, sizeof paths[npaths].path, "%s", buf);
    return &paths[npaths++];
}

static void block_exec(unsigned int vcpu, void *udata)
{
    Block *b = udata;
    if (!counting) return;
    if (b->sym) b->sym->count += b->insns; else unknown += b->insns;
    if (!nscopes) return;
    /* Back in the function that opened a scope: that scope and the ones inside it are over. */
    for (int i = depth - 1; i >= 0; i--) {
        if (b->sym && stack[i].caller == b->sym) {
            depth = i;
            current = path_of_stack();
            break;
        }
    }
    /* A call of a scope function (not a jump back to its first block from inside it). */
    if (b->scope >= 0 && prev_sym != b->sym) {
        if (depth < MAX_DEPTH) {
            stack[depth].scope = b->scope;
            stack[depth].caller = prev_sym;
            depth++;
            current = path_of_stack();
        }
    }
    if (current) current->count += b->insns; else dropped += b->insns;
    prev_sym = b->sym;
}

static void start_exec(unsigned int vcpu, void *udata)
{
    counting = 1;
    depth = 0;
    prev_sym = NULL;
    current = nscopes ? path_of_stack() : NULL;
}
static void stop_exec(unsigned int vcpu, void *udata) { if (counting) regions++; counting = 0; }

static void tb_trans(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    uint64_t pc = qemu_plugin_tb_vaddr(tb);
    if (pc == start_pc) {
        qemu_plugin_register_vcpu_tb_exec_cb(tb, start_exec, QEMU_PLUGIN_CB_NO_REGS, NULL);
    } else if (pc == stop_pc) {
        qemu_plugin_register_vcpu_tb_exec_cb(tb, stop_exec, QEMU_PLUGIN_CB_NO_REGS, NULL);
    } else {
        Block *b = g_new0(Block, 1);
        b->sym = find(pc);
        b->insns = qemu_plugin_tb_n_insns(tb);
        b->scope = -1;
        for (size_t i = 0; i < nscopes; i++)
            if (scopes[i].pc == pc) b->scope = (int)i;
        qemu_plugin_register_vcpu_tb_exec_cb(tb, block_exec, QEMU_PLUGIN_CB_NO_REGS, b);
    }
}

static void at_exit(qemu_plugin_id_t id, void *p)
{
    char buf[320];
    uint64_t total = unknown;
    qsort(syms, nsyms, sizeof(Sym), by_count);
    for (size_t i = 0; i < nsyms; i++) total += syms[i].count;
    snprintf(buf, sizeof buf, "regions %" PRIu64 ", %" PRIu64 " instructions per region\n",
             regions, regions ? total / regions : 0);
    qemu_plugin_outs(buf);
    for (size_t i = 0; i < nsyms && syms[i].count; i++) {
        snprintf(buf, sizeof buf, "%12" PRIu64 "  %5.1f%%  %s\n", regions ? syms[i].count / regions : 0,
                 100.0 * syms[i].count / (total ? total : 1), syms[i].name);
        qemu_plugin_outs(buf);
    }
    if (unknown) {
        snprintf(buf, sizeof buf, "%12" PRIu64 "  (no symbol)\n", regions ? unknown / regions : 0);
        qemu_plugin_outs(buf);
    }
    if (nscopes) {
        qemu_plugin_outs("scopes (instructions per region, exclusive of inner scopes)\n");
        for (size_t i = 0; i < npaths; i++) {
            snprintf(buf, sizeof buf, "scope %12" PRIu64 " %s\n",
                     regions ? paths[i].count / regions : 0, paths[i].path);
            qemu_plugin_outs(buf);
        }
        if (dropped) {
            snprintf(buf, sizeof buf, "scope %12" PRIu64 " (dropped: too many paths or too deep)\n",
                     regions ? dropped / regions : 0);
            qemu_plugin_outs(buf);
        }
    }
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                           int argc, char **argv)
{
    const char *file = NULL, *scope_file = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strncmp(argv[i], "start=", 6)) start_pc = strtoull(argv[i] + 6, NULL, 0) & ~1ULL;
        else if (!strncmp(argv[i], "stop=", 5)) stop_pc = strtoull(argv[i] + 5, NULL, 0) & ~1ULL;
        else if (!strncmp(argv[i], "syms=", 5)) file = argv[i] + 5;
        else if (!strncmp(argv[i], "scopes=", 7)) scope_file = argv[i] + 7;
    }
    if (scope_file) {
        FILE *sf = fopen(scope_file, "r");
        if (!sf) {
            fprintf(stderr, "profile: cannot read scopes=%s\n", scope_file);
            return -1;
        }
        size_t scap = 16;
        scopes = calloc(scap, sizeof(Scope));
        uint64_t pc;
        char label[64];
        while (fscanf(sf, "%" SCNx64 " %63s", &pc, label) == 2) {
            if (nscopes == scap) scopes = realloc(scopes, (scap *= 2) * sizeof(Scope));
            scopes[nscopes].pc = pc & ~1ULL;
            snprintf(scopes[nscopes].label, sizeof scopes[nscopes].label, "%s", label);
            nscopes++;
        }
        fclose(sf);
    }
    FILE *f = file ? fopen(file, "r") : NULL;
    if (!start_pc || !stop_pc || !f) {
        fprintf(stderr, "profile: need start=, stop= and a readable syms=FILE\n");
        return -1;
    }
    size_t cap = 1024;
    syms = calloc(cap, sizeof(Sym));
    uint64_t lo, size;
    char line[4096];
    int name_at;
    /* One symbol per line; names (v0-demangled generics) can be long: truncated to fit. */
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "%" SCNx64 " %" SCNx64 " %n", &lo, &size, &name_at) != 2) continue;
        line[strcspn(line, "\n")] = 0;
        if (nsyms == cap) syms = realloc(syms, (cap *= 2) * sizeof(Sym));
        syms[nsyms].lo = lo & ~1ULL;
        syms[nsyms].hi = (lo & ~1ULL) + size;
        snprintf(syms[nsyms].name, sizeof syms[nsyms].name, "%s", line + name_at);
        syms[nsyms].count = 0;
        nsyms++;
    }
    fclose(f);
    qsort(syms, nsyms, sizeof(Sym), by_address);
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
