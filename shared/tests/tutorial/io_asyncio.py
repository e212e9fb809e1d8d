import asyncio
import time
import urllib.parse


async def main():
    sites = [
        "https://www.jython.org",
        "http://olympus.realpython.org/dice",
    ] * 80
    start_time = time.perf_counter()
    limit = asyncio.Semaphore(100)
    await asyncio.gather(*[download_site(url, limit) for url in sites])
    duration = time.perf_counter() - start_time
    print(f"Downloaded {len(sites)} sites in {duration} seconds")


async def download_site(url, limit):
    # Plain HTTP/1.1 on a socket, as aiohttp would send it, without needing aiohttp.
    parts = urllib.parse.urlsplit(url)
    async with limit:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        request = f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n"
        writer.write(request.encode())
        answer = await reader.read()
        writer.close()
    body = answer.split(b"\r\n\r\n", 1)[1]
    print(f"Read {len(body)} bytes from {url}")


if __name__ == "__main__":
    asyncio.run(main())
