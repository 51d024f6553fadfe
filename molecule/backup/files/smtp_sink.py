#!/usr/bin/python3
"""Test SMTP sink: accepts every message on 127.0.0.1:PORT and stores it as SPOOL/<n>.eml (tests only)."""
import asyncio
import os
import sys
import time

PORT, SPOOL = int(sys.argv[1]), sys.argv[2]


def store(lines):
    name = os.path.join(SPOOL, f"{time.time_ns()}.eml")
    with open(name + ".tmp", "w") as fh:
        fh.write("\n".join(lines) + "\n")
    os.rename(name + ".tmp", name)


async def session(reader, writer):
    def send(line):
        writer.write((line + "\r\n").encode())

    send("220 smtp-sink ready")
    data, in_data = [], False
    while True:
        raw = await reader.readline()
        if not raw:
            break
        line = raw.decode(errors="replace").rstrip("\r\n")
        if in_data:
            if line == ".":
                await asyncio.to_thread(store, data)
                data, in_data = [], False
                send("250 stored")
            else:
                data.append(line[1:] if line.startswith("..") else line)
            continue
        verb = line[:4].upper()
        if verb == "EHLO":
            send("250 smtp-sink")
        elif verb == "DATA":
            in_data = True
            send("354 end with .")
        elif verb == "QUIT":
            send("221 bye")
            await writer.drain()
            break
        else:
            send("250 ok")
        await writer.drain()
    writer.close()


async def main():
    os.makedirs(SPOOL, exist_ok=True)
    server = await asyncio.start_server(session, "127.0.0.1", PORT)
    async with server:
        await server.serve_forever()


asyncio.run(main())
