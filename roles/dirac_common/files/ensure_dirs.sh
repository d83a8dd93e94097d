#!/bin/sh
# ensure_dirs.sh --apply|--check DIR OWNER GROUP MODE [DIR OWNER GROUP MODE ...]
# Makes each DIR exist with that owner, group and mode; prints one line per change (nothing when
# all is in place). With --check it only prints what it would change.
set -eu
mode_flag=$1
shift
while [ "$#" -ge 4 ]; do
    dir=$1 owner=$2 group=$3 mode=$4
    shift 4
    if [ ! -d "$dir" ]; then
        echo "create $dir"
        [ "$mode_flag" = --apply ] && install -d -o "$owner" -g "$group" -m "$mode" "$dir"
        continue
    fi
    current=$(stat -c '%U %G %a' "$dir")
    wanted="$owner $group $(echo "$mode" | sed 's/^0*//')"
    if [ "$current" != "$wanted" ]; then
        echo "fix $dir ($current -> $wanted)"
        if [ "$mode_flag" = --apply ]; then
            chown "$owner:$group" "$dir"
            chmod "$mode" "$dir"
        fi
    fi
done
exit 0
