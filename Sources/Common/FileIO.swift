#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A file-system failure, naming the path and the system's reason.
public struct IOError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }

    static func errno(_ what: String, _ path: String) -> IOError {
        IOError("\(what) \(path): \(String(cString: strerror(Glibc.errno)))")
    }
}

/// Small POSIX file helpers: whole-file reads and durable writes (write to a temporary
/// file, fsync, rename, fsync the directory), so a crash leaves the old file or the new
/// one, never a torn one.
public enum FileIO {
    public static func readAll(_ path: String) throws(IOError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .errno("cannot open", path) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .errno("cannot stat", path) }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0, Glibc.errno == EINTR { continue }
            guard n > 0 else {
                if n == 0 { bytes.removeLast(bytes.count - done); break }
                throw .errno("cannot read", path)
            }
            done += n
        }
        // A file that grew since fstat: read the rest.
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0, Glibc.errno == EINTR { continue }
            guard n > 0 else { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return bytes
    }

    /// Replaces `path` atomically and durably with `bytes`. The temporary file's name is
    /// unique to the process and call, so concurrent writers of one path (two owners of a
    /// partition during a rebalance) never truncate each other's file.
    public static func writeAtomically(_ bytes: [UInt8], to path: String) throws(IOError) {
        let temporary = "\(path).tmp.\(getpid()).\(UInt64.random(in: 0...UInt64.max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .errno("cannot create", temporary) }
        do throws(IOError) {
            try writeAll(fd, bytes, temporary)
            guard fsync(fd) == 0 else { throw IOError.errno("cannot fsync", temporary) }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            unlink(temporary)
            throw .errno("cannot rename onto", path)
        }
        try syncDirectory(of: path)
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], _ path: String) throws(IOError) {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0, Glibc.errno == EINTR { continue }
            guard n > 0 else { throw .errno("cannot write", path) }
            done += n
        }
    }

    /// Makes a rename or creation in the directory of `path` durable.
    public static func syncDirectory(of path: String) throws(IOError) {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let fd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .errno("cannot open directory", directory) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .errno("cannot fsync directory", directory) }
    }

    /// Creates `path` and its parents, like `mkdir -p`.
    public static func makeDirectories(_ path: String) throws(IOError) {
        var current = path.hasPrefix("/") ? "" : "."
        for part in path.split(separator: "/") {
            current += "/" + part
            if mkdir(current, 0o755) != 0, Glibc.errno != EEXIST {
                throw .errno("cannot create directory", current)
            }
        }
    }

    /// Names of the entries in `path` (without "." and ".."), sorted.
    public static func list(_ path: String) throws(IOError) -> [String] {
        guard let dir = opendir(path) else { throw .errno("cannot list", path) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public static func remove(_ path: String) {
        unlink(path)
    }

    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }
}

/// Appends JSON lines to a file, for replay outputs (decisions, dead letters). `sync`
/// makes everything written so far durable.
public final class JSONLinesSink: @unchecked Sendable {
    public let path: String
    private let fd: Int32
    private var buffer: [UInt8] = []

    /// Creates or truncates `path`.
    public init(path: String) throws(IOError) {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .errno("cannot create", path) }
        buffer.reserveCapacity(1 << 16)
    }

    deinit { close(fd) }

    /// Appends one line (a newline is added).
    public func append(_ line: [UInt8]) throws(IOError) {
        buffer.append(contentsOf: line)
        buffer.append(0x0A)
        if buffer.count >= 1 << 16 { try flush() }
    }

    public func flush() throws(IOError) {
        guard !buffer.isEmpty else { return }
        try FileIO.writeAll(fd, buffer, path)
        buffer.removeAll(keepingCapacity: true)
    }

    public func sync() throws(IOError) {
        try flush()
        guard fsync(fd) == 0 else { throw .errno("cannot fsync", path) }
    }
}
