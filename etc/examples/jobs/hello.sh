#!/bin/sh
# A tiny payload: read the input sandbox, compute something with the job's parameter, write the output.
n="${1:-1}"
words=$(wc -w < words.txt)
echo "job ${DIRACJOBID} (parameter ${n}) at ${DIRACSITE}: ${words} words in words.txt, ${n}^2 = $((n * n))" > result.txt
echo "hello from job ${DIRACJOBID}"
