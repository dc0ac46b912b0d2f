namespace ActorRuntime.Store.Contracts;

/// <summary>
/// One stored format: the manifest written beside the payload, the contract record that is the payload, and how that
/// contract maps to a domain type. A <see cref="Current{TDomain,TContract}"/> format is also how its domain type is
/// written; a <see cref="Legacy{TContract,TDomain}"/> format is an older manifest that is only read, upcast to today's
/// domain type, so rows written before a format change keep recovering.
/// </summary>
public sealed class PersistedFormat
{
    private readonly Func<object, object>? _write;
    private readonly Func<object, object> _read;

    private PersistedFormat(string manifest, Type domain, Type contract, Func<object, object>? write, Func<object, object> read)
    {
        if (string.IsNullOrWhiteSpace(manifest))
            throw new ArgumentException($"{domain.FullName}: the manifest is empty", nameof(manifest));
        Manifest = manifest;
        Domain = domain;
        Contract = contract;
        _write = write;
        _read = read;
    }

    public string Manifest { get; }

    public Type Domain { get; }

    public Type Contract { get; }

    /// <summary>False for a legacy format: read, never written.</summary>
    public bool IsCurrent => _write is not null;

    public static PersistedFormat Current<TDomain, TContract>(string manifest, Func<TDomain, TContract> write, Func<TContract, TDomain> read)
        where TDomain : class
        where TContract : class =>
        new(manifest, typeof(TDomain), typeof(TContract), d => write((TDomain)d), c => read((TContract)c));

    public static PersistedFormat Legacy<TContract, TDomain>(string manifest, Func<TContract, TDomain> upcast)
        where TDomain : class
        where TContract : class =>
        new(manifest, typeof(TDomain), typeof(TContract), null, c => upcast((TContract)c));

    public object ToContract(object domain) =>
        _write is { } write ? write(domain) : throw new InvalidOperationException($"\"{Manifest}\" is a legacy format: read only");

    public object ToDomain(object contract) => _read(contract);
}

/// <summary>
/// The formats one serializer knows: every manifest once, at most one current (written) format per domain type.
/// </summary>
public sealed class PersistedFormats
{
    private readonly Dictionary<string, PersistedFormat> _byManifest = new(StringComparer.Ordinal);
    private readonly Dictionary<Type, PersistedFormat> _writers = new();

    public PersistedFormats(IEnumerable<PersistedFormat> formats)
    {
        foreach (var format in formats)
        {
            if (_byManifest.TryGetValue(format.Manifest, out var other))
            {
                throw new ArgumentException(
                    $"manifest \"{format.Manifest}\" is used by both {other.Contract.Name} and {format.Contract.Name}");
            }
            _byManifest.Add(format.Manifest, format);
            if (!format.IsCurrent) continue;
            if (_writers.TryGetValue(format.Domain, out var writer))
            {
                throw new ArgumentException(
                    $"{format.Domain.FullName} is written as both \"{writer.Manifest}\" and \"{format.Manifest}\"; make the older one Legacy");
            }
            _writers.Add(format.Domain, format);
        }
    }

    public IEnumerable<string> Manifests => _byManifest.Keys.Order(StringComparer.Ordinal);

    /// <summary>The domain types written through these formats (each needs a serialization binding).</summary>
    public IEnumerable<Type> WrittenTypes => _writers.Keys;

    public PersistedFormat? WriterFor(Type domain) => _writers.GetValueOrDefault(domain);

    public PersistedFormat? ReaderFor(string manifest) => _byManifest.GetValueOrDefault(manifest);
}
