using System.Diagnostics;
using System.Text;

namespace AgentScope;

/// <summary>
/// A secret value. It never shows itself: <see cref="ToString"/>, the debugger and serializers that use
/// <c>ToString</c> see <c>***</c>. Call <see cref="Reveal"/> where the value is meant to leave.
/// </summary>
[DebuggerDisplay("***")]
public sealed class SecretValue : IEquatable<SecretValue>
{
    private readonly string _value;

    /// <summary>Wraps a value.</summary>
    public SecretValue(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        _value = value;
    }

    /// <summary>The value's length in UTF-8 bytes, which is what size limits count.</summary>
    public int ByteCount => Encoding.UTF8.GetByteCount(_value);

    /// <summary>The plaintext. Every caller is a place where the value leaves on purpose.</summary>
    public string Reveal() => _value;

    /// <summary>Always <c>***</c>.</summary>
    public override string ToString() => "***";

    /// <inheritdoc />
    public bool Equals(SecretValue? other) => other is not null &&
        System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            Encoding.UTF8.GetBytes(_value), Encoding.UTF8.GetBytes(other._value));

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as SecretValue);

    /// <inheritdoc />
    public override int GetHashCode() => 0;
}
