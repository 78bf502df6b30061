#!/usr/bin/env python3
"""Runs a command on a real pseudo-terminal and answers its prompts.

usage: pty-driver.py TIMEOUT_SECONDS ANSWERS_JSON -- CMD ARGS...
ANSWERS_JSON is a list of [prompt_substring, reply] pairs, answered in order. Prints everything the
command wrote to the terminal to stdout, then exits with the command's exit code (124 on timeout).
"""
import json, os, pty, select, sys, time

timeout = float(sys.argv[1])
answers = json.loads(sys.argv[2])
cmd = sys.argv[sys.argv.index('--') + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
seen = b''
deadline = time.time() + timeout
pending = list(answers)
while True:
    if time.time() > deadline:
        os.kill(pid, 9)
        sys.stdout.write(seen.decode('utf8', 'replace'))
        sys.exit(124)
    ready, _, _ = select.select([fd], [], [], 0.1)
    if ready:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            chunk = b''
        if not chunk:
            break
        seen += chunk
        while pending and pending[0][0].encode() in seen:
            prompt, reply = pending.pop(0)
            seen = seen.replace(prompt.encode(), b'<' + prompt.encode() + b'>', 1)
            os.write(fd, reply.encode())
_, status = os.waitpid(pid, 0)
sys.stdout.write(seen.decode('utf8', 'replace'))
sys.exit(os.waitstatus_to_exitcode(status))
