#!/bin/sh
# summary.sh BUILDDIR: after `make check`, prints each CUnit run's summary,
# the log of every test that did not pass, and one closing line that counts
# individual tests: "tests: N passed, N failed, N skipped". Exits non-zero
# when anything failed.
set -u
b=${1:-.}
passed=0 failed=0 skipped=0
for trs in "$b"/tests/*.trs; do
    [ -f "$trs" ] || continue
    log=${trs%.trs}.log
    name=$(basename "${trs%.trs}")
    result=$(sed -n 's/^:test-result: //p' "$trs" | head -n 1)
    # A CUnit run reports a line "tests  total ran passed failed inactive".
    counts=$(awk '$1 == "tests" && NF == 6 { print $4, $5 }' "$log" 2>/dev/null | tail -n 1)
    if [ -n "$counts" ]; then
        echo "== $name: CUnit summary"
        sed -n '/^Run Summary:/,/^Elapsed time/p' "$log"
        set -- $counts
        p=$1 f=$2
    else
        p=0 f=0
        case $result in PASS) p=1 ;; FAIL | ERROR | XPASS) f=1 ;; esac
    fi
    case $result in
    SKIP)
        skipped=$((skipped + 1))
        echo "== $name: skipped: $(grep -m1 -i skip "$log" 2>/dev/null)"
        ;;
    PASS) passed=$((passed + p)) ;;
    *)
        [ "$f" -gt 0 ] || f=1
        passed=$((passed + p))
        failed=$((failed + f))
        echo "== $name: $result; its log:"
        cat "$log"
        ;;
    esac
done
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
