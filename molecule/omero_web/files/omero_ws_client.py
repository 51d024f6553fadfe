"""omero-py's own client through nginx's /omero-ws: log in, read the event context, log out; JSON on stdout.

Usage: omero_ws_client.py URL USER PASSWORD   (URL as OMERO's clients take it: wss://<name>:<port>/omero-ws)
"""
import json
import sys

import omero
import omero.clients


def main(url, user, password):
    client = omero.client(url)  # omero/clients.py: wss://host:port/path -> router "wss -h host -p port -r path"
    try:
        session = client.createSession(user, password)
        context = session.getAdminService().getEventContext()
        print(json.dumps({"user": context.userName, "router": str(client.getRouter(client.getCommunicator()))}))
    finally:
        client.closeSession()
        client.__del__()


if __name__ == "__main__":
    main(*sys.argv[1:4])
