/* libprofile.so: guest instructions per function between `bench_start()` and `bench_stop()`,
 * summed over all measured regions (one region = one inference in tinyconv's firmware).
 * usage: -plugin ./libprofile.so,start=0xADDR,stop=0xADDR,syms=FILE -d plugin
 * FILE: one function per line, "ADDR SIZE NAME" (hex, hex, text), as `llvm-nm -C -S` gives.
 * Attribution is by the translated block's first instruction (a block never spans two
 * functions: calls and returns end blocks). Marker bodies are not counted. Single vCPU.
 * Built and run by scripts/firmware_profile.sh. */
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
} Block;

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

static void block_exec(unsigned int vcpu, void *udata)
{
    Block *b = udata;
    if (!counting) return;
    if (b->sym) b->sym->count += b->insns; else unknown += b->insns;
}

static void start_exec(unsigned int vcpu, void *udata) { counting = 1; }
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
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                           int argc, char **argv)
{
    const char *file = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strncmp(argv[i], "start=", 6)) start_pc = strtoull(argv[i] + 6, NULL, 0) & ~1ULL;
        else if (!strncmp(argv[i], "stop=", 5)) stop_pc = strtoull(argv[i] + 5, NULL, 0) & ~1ULL;
        else if (!strncmp(argv[i], "syms=", 5)) file = argv[i] + 5;
    }
    FILE *f = file ? fopen(file, "r") : NULL;
    if (!start_pc || !stop_pc || !f) {
        fprintf(stderr, "profile: need start=, stop= and a readable syms=FILE\n");
        return -1;
    }
    size_t cap = 1024;
    syms = calloc(cap, sizeof(Sym));
    uint64_t lo, size;
    char name[200];
    while (fscanf(f, "%" SCNx64 " %" SCNx64 " %199[^\n]", &lo, &size, name) == 3) {
        if (nsyms == cap) syms = realloc(syms, (cap *= 2) * sizeof(Sym));
        syms[nsyms].lo = lo & ~1ULL;
        syms[nsyms].hi = (lo & ~1ULL) + size;
        snprintf(syms[nsyms].name, sizeof syms[nsyms].name, "%s", name);
        syms[nsyms].count = 0;
        nsyms++;
    }
    fclose(f);
    qsort(syms, nsyms, sizeof(Sym), by_address);
    qemu_plugin_register_vcpu_tb_trans_cb(id, tb_trans);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    return 0;
}
