/* Natural sort order and directory listing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emotrace/dir_list.h"
#include "emotrace/error.h"
#include "test.h"

static int sign(int x)
{
    return (x > 0) - (x < 0);
}

TEST(natural_compare_orders_digit_runs_by_value)
{
    CHECK(et_natural_compare("img2.png", "img10.png") < 0);
    CHECK(et_natural_compare("img10.png", "img2.png") > 0);
    CHECK(et_natural_compare("img10.png", "img10.png") == 0);
    CHECK(et_natural_compare("frame_9", "frame_10") < 0);
    CHECK(et_natural_compare("a1b2", "a1b10") < 0);
    CHECK(et_natural_compare("a", "a1") < 0);
    CHECK(et_natural_compare("abc", "abd") < 0);
    CHECK(et_natural_compare("x99999999999999999999999", "x100000000000000000000000") < 0);
    /* Equal values: leading zeros decide by bytes, so the order is total. */
    CHECK(et_natural_compare("img01", "img1") < 0);
    CHECK(et_natural_compare("img1", "img01") > 0);
    CHECK(et_natural_compare("img001x", "img1y") < 0); /* the rest decides first */
    CHECK(et_natural_compare("", "") == 0);
    CHECK(et_natural_compare("", "0") < 0);
    /* Bytes above 127 compare unsigned. */
    CHECK(et_natural_compare("a\xc3\xa9", "az") > 0);

    /* Antisymmetric on a set of awkward names. */
    static const char *names[] = {"", "0", "00", "1", "01", "a", "a0", "a00", "a1", "a01", "a10",
                                  "a9b", "a09b", "b", "B", "img2", "img10", "img2.png", "9z"};
    size_t n = sizeof names / sizeof names[0];
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            CHECK_MSG(sign(et_natural_compare(names[i], names[j])) ==
                          -sign(et_natural_compare(names[j], names[i])),
                      "'%s' vs '%s'", names[i], names[j]);
}

static void touch(const char *dir, const char *name)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f)
        fclose(f);
}

static const char *base(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return strncmp(path, dir, n) == 0 && path[n] == '/' ? path + n + 1 : path;
}

TEST(dir_list_natural_order_and_recursion)
{
    const char *dir = test_tmpdir();
    char sub[600], link[600];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    REQUIRE(mkdir(sub, 0755) == 0);
    static const char *files[] = {"img10.png", "img2.png", "img1.png", "img02.png", ".hidden", "a.jpg"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        touch(dir, files[i]);
    touch(sub, "img3.png");
    /* A symlink back up would loop if followed. */
    snprintf(link, sizeof link, "%s/loop", sub);
    REQUIRE(symlink("..", link) == 0);

    et_file_list list;
    REQUIRE(et_dir_list(dir, 0, &list) == ET_OK);
    static const char *flat[] = {"a.jpg", "img1.png", "img02.png", "img2.png", "img10.png"};
    CHECK_EQ_INT(list.count, 5);
    for (size_t i = 0; i < list.count && i < 5; i++)
        CHECK_MSG(!strcmp(base(list.paths[i], dir), flat[i]), "[%zu] = %s, expected %s", i,
                  list.paths[i], flat[i]);
    et_file_list_free(&list);
    CHECK(list.paths == NULL && list.count == 0);

    REQUIRE(et_dir_list(dir, ET_DIR_RECURSIVE | ET_DIR_HIDDEN, &list) == ET_OK);
    static const char *deep[] = {".hidden", "a.jpg", "img1.png", "img02.png", "img2.png", "img10.png",
                                 "sub/img3.png"};
    CHECK_EQ_INT(list.count, 7);
    for (size_t i = 0; i < list.count && i < 7; i++)
        CHECK_MSG(!strcmp(base(list.paths[i], dir), deep[i]), "[%zu] = %s, expected %s", i,
                  list.paths[i], deep[i]);
    et_file_list_free(&list);

    /* A trailing slash does not double up. */
    char slashed[600];
    snprintf(slashed, sizeof slashed, "%s/", sub);
    REQUIRE(et_dir_list(slashed, 0, &list) == ET_OK);
    CHECK_EQ_INT(list.count, 1);
    if (list.count == 1)
        CHECK(!strcmp(list.paths[0] + strlen(sub), "/img3.png"));
    et_file_list_free(&list);
}

TEST(dir_list_errors_name_the_directory)
{
    et_file_list list;
    char missing[600], file[600];
    snprintf(missing, sizeof missing, "%s/no_such_dir", test_tmpdir());
    CHECK_EQ_INT(et_dir_list(missing, 0, &list), ET_ERR_IO);
    CHECK_MSG(strstr(et_error_message(), missing) != NULL, "message: %s", et_error_message());
    CHECK(list.paths == NULL && list.count == 0);

    snprintf(file, sizeof file, "%s/plain", test_tmpdir());
    touch(test_tmpdir(), "plain");
    CHECK_EQ_INT(et_dir_list(file, 0, &list), ET_ERR_IO);
    CHECK_MSG(strstr(et_error_message(), file) != NULL, "message: %s", et_error_message());

    /* Permission bits do not stop root: the listing runs in a child that
     * drops to nobody when the suite runs as root. */
    char locked[600];
    snprintf(locked, sizeof locked, "%s/locked", test_tmpdir());
    REQUIRE(chmod(test_tmpdir(), 0755) == 0);
    REQUIRE(mkdir(locked, 0755) == 0);
    touch(locked, "x.png");
    REQUIRE(chmod(locked, 0) == 0);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
            _exit(9);
        int bad = et_dir_list(test_tmpdir(), ET_DIR_RECURSIVE, &list) != ET_ERR_IO;
        bad |= (strstr(et_error_message(), locked) == NULL) << 1;
        if (bad)
            fprintf(stderr, "  child: %s\n", et_error_message());
        _exit(bad);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
    chmod(locked, 0755); /* so that the scratch directory can be removed */
}
