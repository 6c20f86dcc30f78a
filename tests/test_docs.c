/* Keeps the documentation honest: every command that `emotrace --help`
 * lists has a section in man/emotrace.1 and is shown in README.md, every
 * long option that `emotrace COMMAND --help` prints appears in the man
 * page, and the man page renders without groff warnings. Runs from the
 * repository root; ET_BIN names the binary under test. A second mode of
 * a command (`emotrace train --temporal --help`, `emotrace eval --persons
 * --help`) is checked the same way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cli_run.h"
#include "test.h"

#define MAN_PAGE "man/emotrace.1"
#define MAX_COMMANDS 64

static const char *docs_binary(void)
{
    const char *bin = getenv("ET_BIN");
    return bin && *bin ? bin : "./emotrace";
}

/* Runs a shell command and returns everything it printed on standard
 * output (caller frees), or NULL; *status gets its exit status. */
/* The man page source with the escapes that hide option names removed:
 * "\-" becomes "-", font changes (\fB, \fI, \fR, \fP, \f(XX) and "\&"
 * disappear. */
static char *docs_plain_man(const char *source)
{
    char *out = malloc(strlen(source) + 1);
    if (!out)
        return NULL;
    char *o = out;
    for (const char *s = source; *s;) {
        if (s[0] == '\\' && s[1] == '-') {
            *o++ = '-';
            s += 2;
        } else if (s[0] == '\\' && s[1] == 'f' && s[2] == '(' && s[3] && s[4]) {
            s += 5;
        } else if (s[0] == '\\' && s[1] == 'f' && s[2]) {
            s += 3;
        } else if (s[0] == '\\' && s[1] == '&') {
            s += 2;
        } else {
            *o++ = *s++;
        }
    }
    *o = '\0';
    return out;
}

static int docs_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* Whether text holds word with no name character right before or after
 * it (so "--detector" is not found inside "--detector-weights"). */
static int docs_has_word(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = strstr(text, word); p; p = strstr(p + 1, word)) {
        int before_ok = p == text || !docs_name_char(p[-1]);
        if (before_ok && !docs_name_char(p[n]))
            return 1;
    }
    return 0;
}

/* The command names from `emotrace --help`: the lines under "commands:"
 * that start with two spaces and a name. Returns how many were found. */
static int docs_commands(char names[][32], int max)
{
    char command[1100];
    int status, count = 0;
    snprintf(command, sizeof command, "'%s' --help 2>/dev/null", docs_binary());
    char *help = shell_capture(command, &status);
    if (!help)
        return 0;
    const char *list = strstr(help, "commands:\n");
    for (const char *line = list ? strchr(list, '\n') + 1 : NULL; line && *line && *line != '\n' && count < max;) {
        if (line[0] == ' ' && line[1] == ' ' && line[2] >= 'a' && line[2] <= 'z') {
            size_t n = strspn(line + 2, "abcdefghijklmnopqrstuvwxyz-");
            if (n < 32) {
                memcpy(names[count], line + 2, n);
                names[count][n] = '\0';
                count++;
            }
        }
        const char *next = strchr(line, '\n');
        line = next ? next + 1 : NULL;
    }
    free(help);
    return count;
}

/* Whether some ".SS" heading of the man page names the command. */
static int docs_man_has_section(const char *man, const char *name)
{
    for (const char *line = man; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        if (n > 4 && !strncmp(line, ".SS ", 4)) {
            char heading[256];
            snprintf(heading, sizeof heading, "%.*s", (int)(n < 255 ? n : 255), line);
            if (docs_has_word(heading + 4, name))
                return 1;
        }
        line = end ? end + 1 : NULL;
    }
    return 0;
}

TEST(docs_every_command_has_a_man_section)
{
    char names[MAX_COMMANDS][32];
    int count = docs_commands(names, MAX_COMMANDS);
    CHECK_MSG(count >= 1, "no commands found in '%s --help'", docs_binary());
    char *source = file_read_text(MAN_PAGE);
    REQUIRE(source != NULL);
    char *man = docs_plain_man(source);
    char *readme = file_read_text("README.md");
    REQUIRE(man != NULL);
    for (int i = 0; i < count; i++) {
        CHECK_MSG(docs_man_has_section(man, names[i]), "%s: no .SS section for command '%s'", MAN_PAGE, names[i]);
        char shown[64];
        snprintf(shown, sizeof shown, "emotrace %s", names[i]);
        CHECK_MSG(readme && strstr(readme, shown), "README.md does not show '%s'", shown);
    }
    free(readme);
    free(man);
    free(source);
}

/* Checks every long option in the output of "$ET_BIN args" against the
 * plain man page text; returns how many options it found. */
static int docs_check_options(const char *man, const char *args, const char *help)
{
    int options = 0;
    for (const char *p = strstr(help, "--"); p; p = strstr(p + 2, "--")) {
        if (p > help && docs_name_char(p[-1]))
            continue;
        size_t n = 2;
        while (docs_name_char(p[n]) && p[n] != '_')
            n++;
        if (n < 4 || !(p[2] >= 'a' && p[2] <= 'z'))
            continue;
        char option[64];
        snprintf(option, sizeof option, "%.*s", (int)(n < 63 ? n : 63), p);
        options++;
        CHECK_MSG(docs_has_word(man, option), "%s: '%s' prints %s, which is not documented", MAN_PAGE, args,
                  option);
    }
    return options;
}

/* Runs "$ET_BIN args" and returns its standard output and error, or NULL. */
static char *docs_help(const char *args, int *status)
{
    char command[1100];
    snprintf(command, sizeof command, "'%s' %s 2>&1", docs_binary(), args);
    return shell_capture(command, status);
}

TEST(docs_every_long_option_is_in_the_man_page)
{
    char names[MAX_COMMANDS][32];
    int count = docs_commands(names, MAX_COMMANDS);
    REQUIRE(count >= 1);
    char *source = file_read_text(MAN_PAGE);
    REQUIRE(source != NULL);
    char *man = docs_plain_man(source);
    REQUIRE(man != NULL);
    CHECK_MSG(docs_has_word(man, "--help"), "%s does not mention --help", MAN_PAGE);
    CHECK_MSG(docs_has_word(man, "--version"), "%s does not mention --version", MAN_PAGE);
    int options = 0;
    for (int i = 0; i < count; i++) {
        char args[128];
        int status;
        snprintf(args, sizeof args, "%s --help", names[i]);
        char *help = docs_help(args, &status);
        CHECK_MSG(help && status == 0, "'emotrace %s' exited with %d", args, status);
        if (help)
            options += docs_check_options(man, args, help);
        /* A command with another mode selected by --temporal (train, eval)
         * or --persons (eval) has a usage of its own; it needs a section and
         * its options too. */
        static const char *const modes[] = {"--temporal", "--persons"};
        for (int m = 0; m < 2; m++) {
            snprintf(args, sizeof args, "%s %s --help", names[i], modes[m]);
            char *mode_help = docs_help(args, &status);
            if (help && mode_help && status == 0 && strcmp(help, mode_help) != 0) {
                char heading[64];
                snprintf(heading, sizeof heading, "emotrace %s %s", names[i], modes[m]);
                CHECK_MSG(strstr(man, heading) != NULL, "%s: no section for '%s'", MAN_PAGE, heading);
                options += docs_check_options(man, args, mode_help);
            }
            free(mode_help);
        }
        free(help);
    }
    CHECK_MSG(options >= count, "only %d long options found in the commands' --help", options);
    free(man);
    free(source);
}

static int docs_have_groff(void)
{
    int status;
    char *found = shell_capture("command -v groff 2>/dev/null", &status);
    int have = found && status == 0 && *found;
    free(found);
    return have;
}

TEST(docs_man_page_renders_without_warnings)
{
    int status;
    if (!docs_have_groff())
        SKIP("groff is not installed (apt-get install groff-base)");
    char *out = shell_capture("groff -ww -man -z " MAN_PAGE " 2>&1", &status);
    REQUIRE(out != NULL);
    CHECK_MSG(status == 0 && out[0] == '\0', "groff -ww -man -z %s (status %d) printed:\n%s", MAN_PAGE, status, out);
    free(out);
}

/* The SYNOPSIS as man shows it (80 columns, plain text): every command of
 * `emotrace --help` starts a line of its own, and no line holds two
 * commands (a missing .br runs them together; groff does not warn). */
TEST(docs_man_synopsis_one_line_per_command)
{
    int status;
    if (!docs_have_groff())
        SKIP("groff is not installed (apt-get install groff-base)");
    char *page = shell_capture("groff -man -Tascii -P-cbu -rLL=78n " MAN_PAGE " 2>/dev/null", &status);
    REQUIRE(page && status == 0);
    char *start = strstr(page, "\nSYNOPSIS\n"), *end = start ? strstr(start, "\nDESCRIPTION\n") : NULL;
    REQUIRE(start && end);
    *end = '\0';
    char names[MAX_COMMANDS][32];
    int count = docs_commands(names, MAX_COMMANDS);
    CHECK(count >= 10);
    for (int i = 0; i < count; i++) {
        char shown[64];
        size_t n = (size_t)snprintf(shown, sizeof shown, "\n       emotrace %s", names[i]);
        const char *at = strstr(start, shown);
        while (at && at[n] != ' ' && at[n] != '\n' && at[n] != '\0')
            at = strstr(at + 1, shown);
        CHECK_MSG(at != NULL, "no SYNOPSIS line starts with 'emotrace %s'", names[i]);
    }
    for (char *line = strtok(start + 10, "\n"); line; line = strtok(NULL, "\n")) {
        char *first = strstr(line, "emotrace ");
        CHECK_MSG(!first || !strstr(first + 1, "emotrace "), "two commands on one SYNOPSIS line: %s", line);
    }
    free(page);
}
