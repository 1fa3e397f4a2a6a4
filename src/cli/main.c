/*
 * main.c: the `sluice` command. Uses only libsluice's public interface.
 * Runs on the main thread.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <sluice/sluice.h>

enum { EXIT_PLAYED = 0, EXIT_USAGE = 1 };

static void usage(FILE *to)
{
    fprintf(to,
            "usage: sluice [OPTIONS] FILE...\n"
            "\n"
            "Plays audio files through the sluice engine.\n"
            "\n"
            "  -h, --help       show this help and exit\n"
            "  -V, --version    show the version of sluice and libsluice and exit\n");
}

static void version(void)
{
    printf("sluice %s (libsluice %s)\n", PACKAGE_VERSION, sl_version_string());
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    int c;

    while ((c = getopt_long(argc, argv, "hV", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            usage(stdout);
            return EXIT_PLAYED;
        case 'V':
            version();
            return EXIT_PLAYED;
        default:
            fprintf(stderr, "Try 'sluice --help' for more information.\n");
            return EXIT_USAGE;
        }
    }
    if (optind == argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    fprintf(stderr, "sluice: %s: playback is not part of this build\n",
            argv[optind]);
    return EXIT_USAGE;
}
