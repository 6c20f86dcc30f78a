#!/bin/sh
# Fails, listing each one, when a file under src/ includes a header of a
# folder above its own on the ladder that src/README.md writes down (its
# "- `folder/`" lines, bottom first), unless src/README.md lists that
# include as a known exception ("- exception: `file` includes
# `emotrace/x.h`: reason"). Exceptions that no longer happen fail too, so
# the list stays true.
#
# A header belongs to the folders whose .c files define what it declares
# (the highest of them); one that declares nothing defined in a .c file
# (types and macros only) belongs to src/F when src/F/<name>.c exists, else
# it sits as high as the headers it includes, at the bottom when it
# includes none. A header is held to its own folder's place too.
#
# A header inside src/ (included by a relative path) is private to its
# folder: a file elsewhere, in src/ or tests/, may include it only when
# src/README.md allows it ("- private: `pattern` may include
# `src/F/x.h`: reason", the pattern a shell glob).
set -eu
cd "$(dirname "$0")/.."

layers_ok=0
awk '
function strip_comments(s,    out, i) {
    out = ""
    while (s != "") {
        if (in_comment) {
            i = index(s, "*/")
            if (!i)
                return out
            s = substr(s, i + 2)
            in_comment = 0
        } else {
            i = index(s, "/*")
            if (!i)
                return out s
            out = out substr(s, 1, i - 1) " "
            s = substr(s, i + 2)
            in_comment = 1
        }
    }
    return out
}

function folder_of(path,    f) {
    f = path
    sub(/^src\//, "", f)
    sub(/\/.*/, "", f)
    return f
}

FNR == 1 {
    in_comment = 0
    kind = FILENAME == "src/README.md" ? "readme" : FILENAME ~ /^include\// ? "header" : "source"
    if (kind == "header") {
        header = FILENAME
        sub(/^include\//, "", header)
        headers[++header_count] = header
    }
    if (kind == "source" && FILENAME ~ /\.c$/) {
        base = FILENAME
        sub(/.*\//, "", base)
        sub(/\.c$/, "", base)
        same_name[base] = folder_of(FILENAME)
    }
}

kind == "readme" {
    if (match($0, /^- `[a-z_]+\/`/)) {
        name = substr($0, 4, RLENGTH - 5)
        level[name] = ++levels
        folder_at[levels] = name
    } else if ($0 ~ /^- exception: `[^`]+` includes `emotrace\/[a-z0-9_]+\.h`/) {
        split($0, part, "`")
        exception[part[2] " " part[4]] = 1
    }
    next
}

{
    line = strip_comments($0)
    if (match(line, /^[ \t]*#[ \t]*include[ \t]*"emotrace\/[a-z0-9_]+\.h"/)) {
        included = substr(line, RSTART, RLENGTH)
        sub(/^[^"]*"/, "", included)
        sub(/"$/, "", included)
        includes[++include_count] = FILENAME
        include_target[include_count] = included
    }
}

kind == "header" {
    rest = line
    while (match(rest, /et_[a-z0-9_]+[ \t]*\(/)) {
        name = substr(rest, RSTART, RLENGTH)
        sub(/[ \t]*\($/, "", name)
        declares[header] = declares[header] " " name
        rest = substr(rest, RSTART + RLENGTH)
    }
    if (match(line, /^extern .*et_[a-z0-9_]+[ \t]*\[/)) {
        name = substr(line, 1, RLENGTH)
        sub(/[ \t]*\[$/, "", name)
        sub(/.*[^a-z0-9_]/, "", name)
        declares[header] = declares[header] " " name
    }
}

# A definition: at the start of a line, not static, not a declaration.
kind == "source" && FILENAME ~ /\.c$/ && line ~ /^[a-z]/ && line !~ /^(static|typedef|extern)[ \t]/ &&
        line !~ /;[ \t]*$/ && match(line, /et_[a-z0-9_]+[ \t]*[(\[=]/) {
    name = substr(line, RSTART, RLENGTH)
    sub(/[ \t]*[(\[=]$/, "", name)
    defined_in[name] = defined_in[name] " " folder_of(FILENAME)
}

function header_level(h,    n, i, j, names, folders, best, f, base, k) {
    if (h in resolved)
        return resolved[h]
    resolved[h] = 1 # while resolving: a cycle of includes counts as the bottom
    best = 0
    n = split(declares[h], names, " ")
    for (i = 1; i <= n; i++) {
        k = split(defined_in[names[i]], folders, " ")
        for (j = 1; j <= k; j++)
            if (level[folders[j]] > best) {
                best = level[folders[j]]
            }
    }
    base = h
    sub(/^emotrace\//, "", base)
    sub(/\.h$/, "", base)
    if (!best && (base in same_name))
        best = level[same_name[base]]
    if (!best) {
        best = 1
        for (i = 1; i <= include_count; i++)
            if (includes[i] == "include/" h && header_level(include_target[i]) > best)
                best = header_level(include_target[i])
    }
    resolved[h] = best
    return best
}

END {
    if (!levels) {
        print "check-layers: src/README.md lists no folders (\"- `name/`\" lines)"
        exit 1
    }
    for (i = 1; i <= header_count; i++)
        known[headers[i]] = 1
    failed = 0
    for (i = 1; i <= include_count; i++) {
        file = includes[i]
        target = include_target[i]
        if (file ~ /^src\//) {
            from = folder_of(file)
            if (!(from in level)) {
                print "check-layers: " file ": folder " from "/ is not on the ladder in src/README.md"
                failed = 1
                continue
            }
            from_level = level[from]
        } else {
            from_header = file
            sub(/^include\//, "", from_header)
            from_level = header_level(from_header)
        }
        if (!(target in known)) {
            print "check-layers: " file ": includes " target ", which is not in include/"
            failed = 1
            continue
        }
        to_level = header_level(target)
        if (to_level <= from_level)
            continue
        key = file " " target
        if (key in exception) {
            used[key] = 1
            continue
        }
        print "check-layers: " file " (" folder_at[from_level] ") includes " target " (" folder_at[to_level] ")"
        failed = 1
    }
    for (key in exception)
        if (!(key in used)) {
            print "check-layers: src/README.md lists an exception that no longer happens: " key
            failed = 1
        }
    if (failed)
        print "check-layers: a folder may include only its own headers and those below it (src/README.md)"
    exit failed
}
' src/README.md $(find src -name '*.c' | sort) $(find include/emotrace -name '*.h' | sort) \
    $(find src -name '*.h' | sort) || layers_ok=1

# "pattern header" for each "- private:" line of src/README.md.
allowed=$(sed -n 's/^- private: `\([^`]*\)` may include `\([^`]*\)`.*/\1 \2/p' src/README.md)

# 0 when file may include header, a private header of another folder.
private_allowed() {
    echo "$allowed" | while read -r pattern allowed_header; do
        # shellcheck disable=SC2254
        case "$1" in $pattern) [ "$allowed_header" = "$2" ] && exit 3 ;; esac
    done
    [ $? -eq 3 ]
}

private_ok=0
for file in $(find src tests -name '*.[ch]' | sort); do
    dir=$(dirname "$file")
    for included in $(sed -n 's/^[ \t]*#[ \t]*include[ \t]*"\([^"]*\)".*/\1/p' "$file"); do
        case "$included" in emotrace/*) continue ;; esac
        [ -f "$dir/$included" ] || continue
        header=$(realpath --relative-to=. "$dir/$included")
        case "$header" in src/*/*) ;; *) continue ;; esac
        owner=$(echo "$header" | cut -d/ -f1-2)
        case "$file" in "$owner"/*) continue ;; esac
        if ! private_allowed "$file" "$header"; then
            echo "check-layers: $file includes $header, private to $owner/ (src/README.md lists who else may)"
            private_ok=1
        fi
    done
done
exit $((layers_ok | private_ok))
